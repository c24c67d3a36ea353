//! What the revocation tests share (`tests/revocation.rs`, `tests/revocation_redis.rs`): a
//! reader's token with a given `jti`, the request for `/reports`, the clock in seconds.

use endpoint_auth::testing::{TestIssuer, TestRequestExt, TestToken};

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A reader's token (`read:reports`, subject `user-<jti>`) with this `jti`.
pub fn token(issuer: &TestIssuer, jti: &str) -> TestToken {
    issuer
        .token()
        .scopes(["read:reports"])
        .subject(format!("user-{jti}"))
        .claim("jti", jti)
        .sign()
}

/// `GET /reports` with `token`.
pub fn get_reports(token: &TestToken) -> actix_web::test::TestRequest {
    actix_web::test::TestRequest::get()
        .uri("/reports")
        .bearer(token)
}
