//! The Authorization header parser and the form/query `access_token` finder on arbitrary bytes:
//! no panic, and whatever is accepted is a b64token taken verbatim from the input.
#![no_main]

use endpoint_auth_runtime::credentials::{
    find_access_token, is_b64token, parse_authorization, parse_authorization_value,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(token)) = parse_authorization_value(data) {
        assert!(is_b64token(token), "accepted a non-b64token: {token:?}");
        let found = data.windows(token.len()).any(|w| w == token.as_bytes());
        assert!(found, "the token is not a slice of the input");
    }
    // Several field values (split at NUL): two or more are always refused.
    let values: Vec<&[u8]> = data.split(|&b| b == 0).collect();
    if let Ok(Some(_)) = parse_authorization(values.iter().copied()) {
        assert_eq!(values.len(), 1);
    }
    if let Ok(Some(token)) = find_access_token(data) {
        assert!(is_b64token(&token), "accepted a non-b64token: {token:?}");
    }
});
