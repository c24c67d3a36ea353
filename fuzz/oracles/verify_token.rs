//! The `verify_token` oracle: what the fuzz target checks on every input. Shared, by
//! `#[path]`, with `tests/fuzz_seeds.rs`, which replays the seeds on stable Rust, so that the
//! fuzzer and the test suite check the same thing.

use std::sync::OnceLock;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use endpoint_auth_runtime::{Algorithm, AuthConfig, Key};

/// The committed seeds. Two are tokens genuinely signed with the test keys; those tokens, byte
/// for byte, are the only ones allowed to verify. A seed with one byte changed that verified
/// would be a forgery, whatever its claims say.
pub const SEEDS: [(&str, &[u8]); 3] = [
    ("seed0", include_bytes!("../seeds/verify_token/seed0")),
    ("seed1", include_bytes!("../seeds/verify_token/seed1")),
    (
        "seed_structured",
        include_bytes!("../seeds/verify_token/seed_structured"),
    ),
];

/// The test suite's keys (`tests/keys`: RS256, PS256, ES256, ES384, EdDSA, HS256), issuer and
/// audience.
pub fn config() -> &'static AuthConfig {
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

/// The token an input stands for. The first byte picks the shape: even, the rest is the token
/// (if UTF-8); odd, the rest is three parts split at 0xFF, of which the first two are
/// base64url-encoded, so that the fuzzer reaches the JSON header and payload parsers and the
/// signature checks instead of stopping at base64.
pub fn token(data: &[u8]) -> Option<String> {
    let (&mode, rest) = data.split_first()?;
    if mode & 1 == 0 {
        return std::str::from_utf8(rest).ok().map(str::to_owned);
    }
    let mut parts = rest.splitn(3, |&b| b == 0xff);
    let header = URL_SAFE_NO_PAD.encode(parts.next().unwrap_or_default());
    let payload = URL_SAFE_NO_PAD.encode(parts.next().unwrap_or_default());
    let signature = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    Some(format!("{header}.{payload}.{signature}"))
}

/// Whether `token` is, byte for byte, the token of a committed seed.
pub fn is_seed(token: &str) -> bool {
    static TOKENS: OnceLock<Vec<String>> = OnceLock::new();
    TOKENS
        .get_or_init(|| SEEDS.iter().filter_map(|(_, s)| self::token(s)).collect())
        .iter()
        .any(|seed| seed.as_bytes() == token.as_bytes())
}

/// No panic, and nothing verifies but a seed's own token. The message names no token: the
/// input that failed is saved by the fuzzer, or named by the test.
pub fn check(data: &[u8]) {
    let Some(token) = token(data) else {
        return;
    };
    let verifier = config().verifier();
    let _ = verifier.precheck(&token);
    if verifier.verify(&token).is_ok() {
        assert!(is_seed(&token), "a token that is not a seed verified");
    }
}
