//! Plain-text helpers shared by the models and the SIGNL4 payloads.

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary (never
/// cuts inside a UTF-8 sequence, never panics).
pub fn prefix_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let end = s.char_indices().map(|(i, _)| i).take_while(|&i| i <= max).last().unwrap_or(0);
    s.get(..end).unwrap_or_default()
}

/// The first `n` characters of `s` (all of it when shorter).
pub fn prefix_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((at, _)) => s.get(..at).unwrap_or(s),
        None => s,
    }
}

/// Truncates to `max` characters on a char boundary, marking the cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let marker = "… [truncated]";
    let keep = max.saturating_sub(marker.chars().count());
    let mut out: String = s.chars().take(keep).collect();
    out.push_str(marker);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_end_on_char_boundaries() {
        assert_eq!(prefix_bytes("T100é", 5), "T100");
        assert_eq!(prefix_bytes("T100é", 6), "T100é");
        assert_eq!(prefix_bytes("ééé", 1), "");
        assert_eq!(prefix_bytes("", 3), "");
        assert_eq!(prefix_chars("ééé", 2), "éé");
        assert_eq!(prefix_chars("ab", 5), "ab");
        assert_eq!(truncate("éééé", 3).chars().count(), "… [truncated]".chars().count());
    }

    proptest::proptest! {
        #[test]
        fn prefixes_never_panic(s in "\\PC*", n in 0usize..64) {
            let p = prefix_bytes(&s, n);
            proptest::prop_assert!(p.len() <= n && s.starts_with(p));
            let c = prefix_chars(&s, n);
            proptest::prop_assert!(c.chars().count() <= n && s.starts_with(c));
        }
    }
}
