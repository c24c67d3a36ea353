//! The `authorization_header` oracle: what the fuzz target checks on every input. Shared, by
//! `#[path]`, with `tests/fuzz_seeds.rs`, which replays the seeds on stable Rust, so that the
//! fuzzer and the test suite check the same thing.

use endpoint_auth_runtime::credentials::{
    find_access_token, is_b64token, parse_authorization, parse_authorization_value,
};

/// Arbitrary bytes to the Authorization parsers and the form/query finder: no panic, and
/// whatever is accepted is a b64token taken verbatim from the input.
pub fn check(data: &[u8]) {
    if let Ok(Some(token)) = parse_authorization_value(data) {
        assert!(is_b64token(token), "accepted a non-b64token");
        let found = data.windows(token.len()).any(|w| w == token.as_bytes());
        assert!(found, "the token is not a slice of the input");
    }
    // Several field values (split at NUL): two or more are always refused.
    let values: Vec<&[u8]> = data.split(|&b| b == 0).collect();
    if let Ok(Some(_)) = parse_authorization(values.iter().copied()) {
        assert_eq!(values.len(), 1);
    }
    if let Ok(Some(token)) = find_access_token(data) {
        assert!(is_b64token(&token), "accepted a non-b64token");
    }
}
