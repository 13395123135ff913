//! The outbound origin policy (`s4s_core::origin`): a `nextLink` from a response, against a
//! configured endpoint.
//!
//! Properties: never panics; an accepted link always has the endpoint's scheme, host and port
//! and no user info (whatever the input: other hosts, `@`, `\`, `//`, IDN, dots, controls).
#![no_main]

use libfuzzer_sys::fuzz_target;
use s4s_core::origin::Origin;
use url::Url;

const ENDPOINTS: [&str; 4] =
    ["https://graph.microsoft.com", "https://management.azure.com", "http://127.0.0.1:4010/graph", "https://[::1]:8443"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let Ok(link) = std::str::from_utf8(rest) else { return };
    let endpoint = Url::parse(ENDPOINTS[pick as usize % ENDPOINTS.len()]).expect("valid endpoint");
    let origin = Origin::of(&endpoint).expect("endpoint has an origin");
    // Also as a suffix of the endpoint's own text (the shape of a hostile next link).
    let prefixed = format!("{endpoint}{link}");
    for l in [link, prefixed.as_str()] {
        if let Ok(u) = origin.check(l) {
            assert_eq!(u.scheme(), endpoint.scheme(), "{l:?}");
            assert_eq!(u.host_str(), endpoint.host_str(), "{l:?}");
            assert_eq!(u.port_or_known_default(), endpoint.port_or_known_default(), "{l:?}");
            assert!(u.username().is_empty() && u.password().is_none(), "{l:?}");
            // What is sent parses back to the same origin.
            assert!(origin.admits(&Url::parse(u.as_str()).expect("re-parses")), "{l:?}");
        }
    }
    let _ = s4s_core::origin::host_is_or_under(link, "security.microsoft.com");
});
