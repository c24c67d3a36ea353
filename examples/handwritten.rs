//! Protecting handlers by hand, without the attribute: the requirement extractor
//! (`Authorized<R>`) and the plain principal extractor (`Principal`).
//!
//! Run: `cargo run --example handwritten` (keys are the test keys of this repository), then
//! `curl -i localhost:8081/me` answers 401 with a `WWW-Authenticate: Bearer` challenge.

use actix_web::{web, App, HttpResponse, HttpServer};
use endpoint_auth::{
    Algorithm, AuthConfig, Authorized, Key, Principal, Requirement, RequirementSpec,
};

/// The requirement, written out: what `#[requires(scope = "read:reports")]` generates.
struct ReadReports;
impl RequirementSpec for ReadReports {
    const REQUIREMENT: Requirement = Requirement::Scope("read:reports");
}

/// Any valid token.
async fn me(principal: Principal) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "sub": principal.subject(),
        "scopes": principal.scopes(),
    }))
}

/// A valid token with `read:reports`; 403 with `error="insufficient_scope"` otherwise.
async fn reports(auth: Authorized<ReadReports>) -> HttpResponse {
    HttpResponse::Ok().body(format!("reports for {}", auth.subject().unwrap_or("?")))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/keys/rsa-public.pem"
    ))?;
    let auth = AuthConfig::builder()
        .realm("handwritten")
        .issuer("https://issuer.test")
        .audience("reports-api")
        .key(Key::rsa_pem(Algorithm::RS256, &pem)?)
        .build()?;
    HttpServer::new(move || {
        App::new()
            .wrap(auth.clone())
            .route("/me", web::get().to(me))
            .route("/reports", web::get().to(reports))
    })
    .bind(("127.0.0.1", 8081))?
    .run()
    .await?;
    Ok(())
}
