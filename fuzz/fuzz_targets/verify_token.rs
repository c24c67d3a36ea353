//! `Verifier::verify` on hostile tokens, with the test suite's keys (RSA, EC P-256/P-384,
//! Ed25519, HMAC). No panic, and nothing the fuzzer makes up ever verifies (only the signed
//! seeds, marked `sub: fuzz-seed`, may).
//!
//! The first input byte picks the shape: raw bytes as the token, or three parts (split at
//! 0xFF) of which the first two are base64url-encoded, so that the fuzzer reaches the JSON
//! header and payload parsers and the signature checks instead of stopping at base64.
#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use endpoint_auth_runtime::{Algorithm, AuthConfig, Key};
use libfuzzer_sys::fuzz_target;

const SEED_SUBJECT: &str = "fuzz-seed";

fn config() -> &'static AuthConfig {
    static CONFIG: OnceLock<AuthConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let secret = STANDARD
            .decode(include_str!("../../tests/keys/hs256.secret").trim())
            .expect("test HMAC secret");
        AuthConfig::builder()
            .realm("fuzz")
            .issuer("https://issuer.test")
            .audience("reports-api")
            .key(
                Key::rsa_pem(
                    Algorithm::RS256,
                    include_bytes!("../../tests/keys/rsa-public.pem"),
                )
                .unwrap()
                .with_kid("rs256"),
            )
            .key(
                Key::rsa_pem(
                    Algorithm::PS256,
                    include_bytes!("../../tests/keys/rsa2-public.pem"),
                )
                .unwrap()
                .with_kid("ps256"),
            )
            .key(
                Key::ec_pem(
                    Algorithm::ES256,
                    include_bytes!("../../tests/keys/ec256-public.pem"),
                )
                .unwrap()
                .with_kid("es256"),
            )
            .key(
                Key::ec_pem(
                    Algorithm::ES384,
                    include_bytes!("../../tests/keys/ec384-public.pem"),
                )
                .unwrap()
                .with_kid("es384"),
            )
            .key(
                Key::ed25519_pem(include_bytes!("../../tests/keys/ed25519-public.pem"))
                    .unwrap()
                    .with_kid("eddsa"),
            )
            .key(
                Key::hmac(Algorithm::HS256, &secret)
                    .unwrap()
                    .with_kid("hs256"),
            )
            .build()
            .expect("fuzz configuration")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let token = if mode & 1 == 0 {
        match std::str::from_utf8(rest) {
            Ok(t) => t.to_owned(),
            Err(_) => return,
        }
    } else {
        let mut parts = rest.splitn(3, |&b| b == 0xff);
        let header = URL_SAFE_NO_PAD.encode(parts.next().unwrap_or_default());
        let payload = URL_SAFE_NO_PAD.encode(parts.next().unwrap_or_default());
        let signature = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        format!("{header}.{payload}.{signature}")
    };
    let verifier = config().verifier();
    let _ = verifier.precheck(&token);
    if let Ok(verified) = verifier.verify(&token) {
        // Seeds in the corpus are genuinely signed with the test keys and say `sub: fuzz-seed`;
        // the signature covers the payload, so any other verified token is a forgery.
        assert_eq!(
            verified.subject(),
            Some(SEED_SUBJECT),
            "a made-up token verified"
        );
    }
});
