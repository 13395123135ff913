//! When an X.509 certificate stops being valid (`notAfter`), read from its DER bytes (pure):
//! the status page shows when a certificate credential expires (RFC 5280 §4.1.2.5).

/// One DER element: its tag, its content and what follows it.
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        (rest[..n].iter().fold(0usize, |a, &x| (a << 8) | usize::from(x)), &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The certificate's `notAfter` as Unix seconds; `None` for bytes that are not a certificate.
pub fn not_after(der: &[u8]) -> Option<i64> {
    let (SEQUENCE, cert, _) = tlv(der)? else { return None };
    let (SEQUENCE, tbs, _) = tlv(cert)? else { return None };
    // TBSCertificate: [0] version (optional), serialNumber, signature, issuer, validity, …
    let mut rest = tbs;
    if let (VERSION, _, after) = tlv(rest)? {
        rest = after;
    }
    for _ in 0..3 {
        rest = tlv(rest)?.2;
    }
    let (SEQUENCE, validity, _) = tlv(rest)? else { return None };
    let (_, _, after_not_before) = tlv(validity)?;
    let (tag, value, _) = tlv(after_not_before)?;
    time_value(tag, value)
}

/// UTCTime `YYMMDDHHMMSSZ` (years 1950–2049) or GeneralizedTime `YYYYMMDDHHMMSSZ`, as Unix seconds.
fn time_value(tag: u8, v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?.strip_suffix('Z')?;
    let (year, rest): (i32, &str) = match tag {
        UTC_TIME => {
            let yy: i32 = s.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, s.get(2..)?)
        }
        GENERALIZED_TIME => (s.get(..4)?.parse().ok()?, s.get(4..)?),
        _ => return None,
    };
    if rest.len() != 10 || !rest.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n = |i: usize| rest[i..i + 2].parse::<u8>().ok();
    let date = time::Date::from_calendar_date(year, time::Month::try_from(n(0)?).ok()?, n(2)?).ok()?;
    let at = time::Time::from_hms(n(4)?, n(6)?, n(8)?).ok()?;
    Some(time::PrimitiveDateTime::new(date, at).assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn der(b64: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
    }

    /// `openssl req -x509 -newkey ec … -days 30`: notAfter=Jan 2 07:57:58 2027 GMT (UTCTime).
    const UTC: &str = "MIIBcjCCARegAwIBAgIUV5MhLq4umEVFR2HTsO/DbQG0Al8wCgYIKoZIzj0EAwIwDjEMMAoGA1UEAwwDczRzMB4XDTI2MTIwMzA3NTc1OFoXDTI3MDEwMjA3NTc1OFowDjEMMAoGA1UEAwwDczRzMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDlrOP2gXJzAwrry9NWRlu+CNz8JUuD5qBgCrvVTcHg24d9Niy5mc6oBr2pmXLmuQVAHZGr1XjFIvRnlJWbJOaNTMFEwHQYDVR0OBBYEFMVa4hyhbUfeuzFz/e6+8O6HJ9aFMB8GA1UdIwQYMBaAFMVa4hyhbUfeuzFz/e6+8O6HJ9aFMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAOWjsn3sjZqubh7OvaQn7argdMuvBvrRYyKnmuTIx7yWAiEA1ey2QFAKz95Ho6swMfEenvGnfHGm86oNCy8jdrwX17Y=";
    /// `-days 10000`: notAfter=Apr 20 07:57:58 2054 GMT (GeneralizedTime, after 2049).
    const GENERALIZED: &str = "MIIBcjCCARmgAwIBAgIUXtz9+Cd9PTQbUapwdM5eUer+05AwCgYIKoZIzj0EAwIwDjEMMAoGA1UEAwwDczRzMCAXDTI2MTIwMzA3NTc1OFoYDzIwNTQwNDIwMDc1NzU4WjAOMQwwCgYDVQQDDANzNHMwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARAVU7b/J7QEM5p7i5EZiAaif/5ZT38vJfYyYKT790R9FMlp+8BNLfiJ0SbpFNN7MumldN4sAPjdFu6TAixvEPXo1MwUTAdBgNVHQ4EFgQUdiCZJ2hbNJolTq+A7IanKsCrabQwHwYDVR0jBBgwFoAUdiCZJ2hbNJolTq+A7IanKsCrabQwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiBDyhDuRuFFXXygrj5Ek7VqXVTESK1uV0xAsz72hEjpVAIgcN2jlwrsSXNrom4HJkOv0LAe8Gea6g4bdGjXE+7Ihw8=";

    #[test]
    fn not_after_in_both_time_forms() {
        assert_eq!(not_after(&der(UTC)), Some(1_798_876_678));
        assert_eq!(not_after(&der(GENERALIZED)), Some(2_660_284_678));
    }

    #[test]
    fn anything_else_is_none_never_a_panic() {
        assert_eq!(not_after(b""), None);
        assert_eq!(not_after(b"not a certificate"), None);
        let d = der(UTC);
        for cut in [1, 4, 40, 120, d.len() - 1] {
            let _ = not_after(&d[..cut]);
        }
        assert_eq!(not_after(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None, "a length beyond the input");
        assert_eq!(time_value(UTC_TIME, b"2701020757Z"), None, "too short");
        assert_eq!(time_value(GENERALIZED_TIME, b"20541320075758Z"), None, "month 13");
    }
}
