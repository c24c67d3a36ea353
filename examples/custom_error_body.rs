//! Rejections in the application's own body shape: `AuthConfigBuilder::error_body`.
//!
//! Run: `cargo run --example custom_error_body` (keys are the test keys of this repository),
//! then try the printed `curl` commands: 400, 401 and 403 arrive with the usual status,
//! `WWW-Authenticate` challenge and `Cache-Control: no-store`, and with this body instead of
//! the default RFC 9457 problem details:
//!
//! ```text
//! HTTP/1.1 403 Forbidden
//! www-authenticate: Bearer realm="custom-body", error="insufficient_scope", error_description="…", scope="read:reports"
//! cache-control: no-store
//! content-type: application/vnd.acme.error+json
//!
//! {"error":{"code":"insufficient_scope","message":"the access token does not grant …","required_scope":"read:reports","status":403}}
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{get, App, HttpResponse, HttpServer};
use endpoint_auth::{requires, Algorithm, AuthConfig, AuthError, ErrorBody, Key};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "reports-api";

#[requires(scope = "read:reports")]
#[get("/reports")]
async fn reports() -> HttpResponse {
    HttpResponse::Ok().json(["Quarterly numbers"])
}

/// The body every rejection gets: one `error` object, as this API's clients expect it. The
/// error is read-only and holds no token material; the status and the headers are not ours
/// to change here.
fn acme_error(e: &AuthError) -> ErrorBody {
    ErrorBody::json(&serde_json::json!({
        "error": {
            "status": e.status(),
            // RFC 6750's code where there is one (invalid_request, invalid_token,
            // insufficient_scope), else the stable reason (missing, keys_unavailable).
            "code": e.code().as_error_param().unwrap_or(e.reason().code()),
            "message": e.description(),
            "required_scope": e.scope(),
            "retry_after_seconds": e.retry_after(),
        }
    }))
    // The vendor media type of this API: any media type will do.
    .with_content_type("application/vnd.acme.error+json")
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/");
    let public = std::fs::read(format!("{keys}rsa-public.pem"))?;
    let auth = AuthConfig::builder()
        .realm("custom-body")
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key(Key::rsa_pem(Algorithm::RS256, &public)?)
        .error_body(acme_error)
        .build()?;

    // A token without `read:reports`, signed with the test key, to see the 403.
    let private = std::fs::read(format!("{keys}rsa-private.pem"))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let no_scope = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::RS256),
        &serde_json::json!({ "iss": ISSUER, "aud": AUDIENCE, "sub": "demo", "exp": now + 3600 }),
        &jsonwebtoken::EncodingKey::from_rsa_pem(&private)?,
    )?;
    println!("# 401, no token\ncurl -i localhost:8082/reports");
    println!(
        "# 400, malformed credentials\ncurl -i localhost:8082/reports -H 'Authorization: Bearer'"
    );
    println!("# 403, a token without read:reports\ncurl -i localhost:8082/reports -H 'Authorization: Bearer {no_scope}'");

    HttpServer::new(move || App::new().wrap(auth.clone()).service(reports))
        .bind(("127.0.0.1", 8082))?
        .run()
        .await?;
    Ok(())
}
