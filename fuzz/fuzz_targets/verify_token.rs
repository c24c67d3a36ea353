//! `Verifier::verify` on hostile tokens, with the test suite's keys (RSA, EC P-256/P-384,
//! Ed25519, HMAC). No panic, and nothing the fuzzer makes up ever verifies: only the exact
//! tokens of the signed seeds may (see `oracles/verify_token.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../oracles/verify_token.rs"]
mod oracle;

fuzz_target!(|data: &[u8]| oracle::check(data));
