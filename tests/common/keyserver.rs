//! Remote-key test support: the kit's real HTTP key server on 127.0.0.1, and JWKS / discovery
//! documents of the fixed test keys in `tests/keys` (tests that pin a given key's behaviour).

use endpoint_auth::{Algorithm, AuthConfig, RemoteSettings};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde_json::Value;

/// The testing kit's loopback server (it started here, as this file).
#[allow(unused_imports)] // not every test binary uses both
pub use endpoint_auth::testing::server::{KeyServer, Reply};

/// The public JWK of a test key, with `kid` and `alg`.
pub fn jwk(alg: Algorithm, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(&super::signing_key(alg), alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).unwrap()
}

/// A JWKS document of these JWKs.
pub fn jwks(keys: &[Value]) -> String {
    let set: JwkSet = serde_json::from_value(serde_json::json!({ "keys": keys })).unwrap();
    serde_json::to_string(&set).unwrap()
}

/// The tests' configuration with keys from the JWKS at `url`.
pub fn jwks_config(url: &str, settings: RemoteSettings) -> AuthConfig {
    AuthConfig::builder()
        .realm(super::REALM)
        .issuer(super::ISSUER)
        .audience(super::AUDIENCE)
        .jwks_url(url)
        .remote_settings(settings)
        .build()
        .unwrap()
}

/// The tests' configuration with keys found by discovery from `issuer`.
pub fn discovery_config(issuer: &str) -> AuthConfig {
    AuthConfig::builder()
        .realm(super::REALM)
        .issuer(issuer)
        .audience(super::AUDIENCE)
        .oidc_discovery()
        .build()
        .unwrap()
}

/// A discovery (OIDC / RFC 8414) metadata document naming `issuer` and `jwks_uri`.
pub fn metadata(issuer: &str, jwks_uri: &str) -> Reply {
    Reply::Json(
        serde_json::json!({ "issuer": issuer, "jwks_uri": jwks_uri }).to_string(),
        None,
    )
}
