//! Scrubbing secrets out of text that came from outside (error bodies, headers, URLs) before
//! it is logged, stored or shown: configured secrets and bearer tokens become `[redacted]`.

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Every secret of a configuration, scrubbed from any text at once (upstream error bodies,
/// header values, URLs, log lines). Also scrubs the URL-encoded form of each secret (a team
/// secret in a URL path or query), bearer tokens and JWTs.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// Secrets shorter than 4 characters are ignored (they would match ordinary text).
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(secrets: I) -> Redactor {
        let mut all: Vec<String> = Vec::new();
        for s in secrets.into_iter().map(Into::into).filter(|s| s.len() >= 4) {
            let encoded: String = url_encode(&s);
            if encoded != s {
                all.push(encoded);
            }
            // As a JSON string shows it (JSON log lines, `jobs show`): `"` and `\` escaped.
            let escaped = json_escape(&s);
            if escaped != s {
                all.push(escaped);
            }
            all.push(s);
        }
        // Longest first, so a secret that contains another is replaced whole.
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        all.dedup();
        Redactor { secrets: all }
    }

    /// Every configured secret of `config`: client secrets (and PFX passwords, identity
    /// headers), team secrets, API keys, inbound
    /// tokens, the status page's admin token and the password of the storage URL.
    pub fn from_config(config: &crate::config::Config) -> Redactor {
        use secrecy::ExposeSecret;
        let mut v: Vec<String> = Vec::new();
        v.extend(config.server.admin_token.iter().map(|t| t.expose_secret().to_string()));
        if let crate::config::StorageConfig::Postgres { url } = &config.storage {
            if let Some(pw) = url_password(url.expose_secret()) {
                v.push(pw);
            }
            v.push(url.expose_secret().to_string());
        }
        for t in &config.tenants {
            // The client secret, a PFX password, an App Service identity header.
            v.extend(t.credential.secrets().into_iter().map(str::to_string));
            // The tenant's own team and every route's own team.
            for s4 in std::iter::once(&t.signl4).chain(t.routes.iter().map(|r| &r.signl4)) {
                v.push(s4.team_secret.expose_secret().to_string());
                v.extend(s4.inbound_token.iter().map(|s| s.expose_secret().to_string()));
                v.extend(s4.api_key.iter().map(|s| s.expose_secret().to_string()));
                if let crate::config::Fallback::Team(s) = &s4.fallback {
                    v.push(s.expose_secret().to_string());
                }
            }
        }
        v.extend(config.ops.team_secret.iter().map(|s| s.expose_secret().to_string()));
        Redactor::new(v)
    }

    /// The secrets (and their URL-encoded forms) this redactor replaces.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every secret and bearer token replaced by `[redacted]`.
    pub fn scrub(&self, text: &str) -> String {
        let refs: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        scrub(text, &refs)
    }
}

/// The password of a `scheme://user:password@host/...` URL, percent-decoded as well.
fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.split(['/', '?', '#']).next()?.rsplit_once('@')?.0;
    let pw = userinfo.split_once(':')?.1;
    (!pw.is_empty()).then(|| pw.to_string())
}

/// `s` as serde_json writes it inside a JSON string (what JSON log lines contain).
fn json_escape(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or(s).to_string()
}

fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

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
        // `value` is just past an ASCII match, so a char boundary; token characters are ASCII,
        // so `value + len` is one too (checked anyway: never a panic on logged text).
        let (Some(head), Some(tail)) = (rest.get(..value), rest.get(value..)) else {
            out.push_str(rest);
            return out;
        };
        let len = tail.find(|c: char| !token_char(c)).unwrap_or(tail.len());
        let Some((token, after)) = tail.split_at_checked(len) else {
            out.push_str(rest);
            return out;
        };
        out.push_str(head);
        if len < 8 {
            // Too short to be a token: keep it. It is past where the match began (progress).
            out.push_str(token);
        } else {
            out.push_str(REDACTED);
        }
        rest = after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_scrubbed_from_json_text_too() {
        let r = Redactor::new([r#"pa"ss\word"#]);
        let line = serde_json::json!({ "message": r#"url postgres://u:pa"ss\word@h/db"# }).to_string();
        assert!(!r.scrub(&line).contains("word"), "{line} → {}", r.scrub(&line));
        assert_eq!(r.scrub(r#"x pa"ss\word y"#), "x [redacted] y");
    }

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
    fn one_redactor_holds_every_secret_and_their_url_forms() {
        let r = Redactor::new(["team-secret-1", "api/key+1", "pw", ""]);
        let text = "POST /webhook/team-secret-1 failed; key api%2Fkey%2B1 or api/key+1; pw stays";
        assert_eq!(r.scrub(text), "POST /webhook/[redacted] failed; key [redacted] or [redacted]; pw stays");
        assert_eq!(url_password("postgres://s4s:p%40ss-word@db:5432/x"), Some("p%40ss-word".into()));
        assert_eq!(url_password("postgres://db/x"), None);
        assert_eq!(url_password("postgres://user@db/x"), None);
        // A secret containing another is replaced whole.
        let r = Redactor::new(["abcd", "abcdefgh"]);
        assert_eq!(r.scrub("x abcdefgh y abcd"), "x [redacted] y [redacted]");
        assert!(Redactor::default().is_empty());
    }

    #[test]
    fn scrubbing_never_panics_on_odd_text() {
        for t in ["Bearer ", "eyJ", "ééBearer ééé", "Bearer eyJ", "xBearer abcdefghijkl…"] {
            let _ = scrub(t, &["é"]);
        }
    }
}
