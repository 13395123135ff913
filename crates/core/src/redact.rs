//! Scrubbing secrets out of text that came from outside (error bodies, headers, URLs) before
//! it is logged, stored or shown: configured secrets and bearer tokens become `[redacted]`.

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Replaces every occurrence of each of `secrets` (ignoring empty and very short ones, which
/// would match ordinary text) and anything that looks like a bearer token or JWT.
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        if out.contains(*s) {
            out = out.replace(*s, REDACTED);
        }
    }
    scrub_tokens(&out)
}

/// `Bearer …` values and JWTs (`eyJ….….…`).
fn scrub_tokens(text: &str) -> String {
    let token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        // Where the next token value starts: after "Bearer ", or at a JWT's "eyJ".
        let bearer = rest.find("Bearer ").map(|i| (i, i + "Bearer ".len()));
        let jwt = rest.find("eyJ").map(|i| (i, i));
        let next = match (bearer, jwt) {
            (Some(b), Some(j)) => Some(if b.0 <= j.0 { b.1 } else { j.1 }),
            (b, j) => b.or(j).map(|x| x.1),
        };
        let Some(value) = next else {
            out.push_str(rest);
            return out;
        };
        let len = rest[value..].find(|c: char| !token_char(c)).unwrap_or(rest.len() - value);
        if len < 8 {
            // Too short to be a token: keep it. Token characters are ASCII, so `value + len`
            // is a char boundary, and it is past where the match began (progress).
            out.push_str(&rest[..value + len]);
            rest = &rest[value + len..];
            continue;
        }
        out.push_str(&rest[..value]);
        out.push_str(REDACTED);
        rest = &rest[value + len..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_secrets_and_tokens_are_scrubbed() {
        // SIGNL4's 404 body echoes the team secret (`signl4.md` §1.6).
        let body = "Error raising event. An event source with ID 96sbq49u-team-secret was not found.";
        assert_eq!(
            scrub(body, &["96sbq49u-team-secret"]),
            "Error raising event. An event source with ID [redacted] was not found."
        );
        assert_eq!(scrub("auth: Bearer abc.def-ghi_jkl", &[]), "auth: Bearer [redacted]");
        assert_eq!(scrub("tok eyJhbGciOi.eyJzdWIi.sig123 end", &[]), "tok [redacted] end");
        assert_eq!(scrub("a short x", &["x", ""]), "a short x");
        assert_eq!(scrub("Bearer ok", &[]), "Bearer ok");
    }

    #[test]
    fn scrubbing_never_panics_on_odd_text() {
        for t in ["Bearer ", "eyJ", "ééBearer ééé", "Bearer eyJ", "xBearer abcdefghijkl…"] {
            let _ = scrub(t, &["é"]);
        }
    }
}
