//! The Authorization header parser and the form/query `access_token` finder on arbitrary bytes:
//! no panic, and whatever is accepted is a b64token taken verbatim from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../oracles/authorization_header.rs"]
mod oracle;

fuzz_target!(|data: &[u8]| oracle::check(data));
