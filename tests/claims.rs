//! Claim requirements over real HTTP (issue 19): `#[requires(claim(name = value))]` with a
//! boolean, a string, an integer, or the request's own path parameter (`path.user_id`), alone
//! or with scopes and roles in `any`/`all`. A claim not met is 403 `insufficient_scope`, with
//! a `scope` hint only when scopes alone would help; the claim values never reach a response.

mod common;

use std::sync::OnceLock;

use actix_web::{get, web, HttpResponse};
use common::{bearer, get, serve, TestServer};
use endpoint_auth::testing::{assert_insufficient_scope, TestIssuer, TestToken};
use endpoint_auth::{requires, RoleSource};
use serde_json::json;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

endpoint_auth::roles! {
    "reports-admin" => "Administers every report",
}

#[requires(claim(email_verified = true))]
#[get("/verified")]
async fn verified() -> HttpResponse {
    HttpResponse::Ok().body("verified")
}

#[requires(scope = "read:reports", claim(tenant = "acme"))]
#[get("/acme/reports")]
async fn acme_reports() -> HttpResponse {
    HttpResponse::Ok().body("acme")
}

#[requires(any(role = "reports-admin", claim(sub = path.user_id)))]
#[get("/users/{user_id}/reports")]
async fn user_reports(user_id: web::Path<String>) -> HttpResponse {
    HttpResponse::Ok().body(format!("reports of {user_id}"))
}

#[get("/levels/{level}")]
#[requires(any(claim(level = 3, org = "r&d"), claim(level = path.level)))]
async fn level() -> HttpResponse {
    HttpResponse::Ok().body("level")
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(verified)
        .service(acme_reports)
        .service(user_reports)
        .service(level);
}

fn issuer() -> &'static TestIssuer {
    static ISSUER: OnceLock<TestIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| TestIssuer::new(SCOPES))
}

fn server() -> TestServer {
    let auth = issuer()
        .config()
        .roles_from(RoleSource::entra())
        .build()
        .unwrap();
    serve(Some(auth), routes)
}

fn token(claims: serde_json::Value) -> TestToken {
    let mut t = issuer().token().without_claim("sub");
    for (name, value) in claims.as_object().unwrap() {
        t = match name.as_str() {
            "scope" => t.scopes(value.as_str().unwrap().split(' ')),
            _ => t.claim(name.clone(), value.clone()),
        };
    }
    t.sign()
}

/// A 403 with no `scope` hint and a terse description that holds no claim value.
fn assert_refused_without_hint(r: common::Response, values: &[&str]) {
    let body = r.text();
    let challenge = r.challenge().to_owned();
    let c = assert_insufficient_scope(r.raw(), "");
    assert_eq!(c.param("scope"), None, "{challenge}");
    for v in values {
        assert!(
            !challenge.contains(v) && !body.contains(v),
            "{v} leaked: {challenge} {body}"
        );
    }
}

#[test]
fn a_boolean_claim_must_be_that_boolean() {
    let srv = server();
    let call = |claims| get(srv.addr, "/verified", &[&bearer(token(claims).as_str())]);
    assert_eq!(call(json!({ "email_verified": true })).status, 200);
    for claims in [
        json!({ "email_verified": false }),
        json!({ "email_verified": "true" }),
        json!({ "email_verified": 1 }),
        json!({}),
    ] {
        assert_refused_without_hint(call(claims), &[]);
    }
}

#[test]
fn a_string_claim_with_a_scope_and_the_hint_when_the_scope_would_help() {
    let srv = server();
    let call = |claims| {
        get(
            srv.addr,
            "/acme/reports",
            &[&bearer(token(claims).as_str())],
        )
    };
    assert_eq!(
        call(json!({ "tenant": "acme", "scope": "read:reports" })).status,
        200
    );
    // The right tenant, without the scope: the scope would help.
    assert_insufficient_scope(call(json!({ "tenant": "acme" })).raw(), "read:reports");
    // Another tenant: no scope would help, and the tenant's name is not echoed.
    assert_refused_without_hint(
        call(json!({ "tenant": "globex-secret", "scope": "read:reports" })),
        &["globex-secret"],
    );
    // Exact comparison: case and type count.
    assert_eq!(
        call(json!({ "tenant": "ACME", "scope": "read:reports" })).status,
        403
    );
    assert_eq!(
        call(json!({ "tenant": ["acme"], "scope": "read:reports" })).status,
        403
    );
}

#[test]
fn a_claim_equal_to_the_path_parameter_or_a_role_instead() {
    let srv = server();
    let call = |path: &str, claims| get(srv.addr, path, &[&bearer(token(claims).as_str())]);
    let r = call("/users/alice/reports", json!({ "sub": "alice" }));
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "reports of alice");
    assert_refused_without_hint(
        call("/users/bob/reports", json!({ "sub": "alice" })),
        &["alice"],
    );
    // An admin reads anyone's reports.
    assert_eq!(
        call(
            "/users/bob/reports",
            json!({ "sub": "carol", "roles": ["reports-admin"] })
        )
        .status,
        200
    );
    // Percent-decoded by the router before the comparison; a missing `sub` never matches.
    assert_eq!(
        call("/users/a%20b/reports", json!({ "sub": "a b" })).status,
        200
    );
    assert_eq!(call("/users/alice/reports", json!({})).status, 403);
    // The value compared is the one `web::Path` hands the handler: the router leaves `%2F`,
    // `%2B` and `%25` encoded in the match info, the path extractor decodes them.
    for (path, sub) in [
        ("/users/a%2Fb/reports", "a/b"),
        ("/users/a%2Bb/reports", "a+b"),
        ("/users/a+b/reports", "a+b"),
        ("/users/100%25/reports", "100%"),
    ] {
        let r = call(path, json!({ "sub": sub }));
        assert_eq!(r.status, 200, "{path} for {sub}");
        assert_eq!(r.text(), format!("reports of {sub}"), "{path}");
    }
    // A claim that spells the encoding never matches the decoded value the handler uses.
    for (path, sub) in [
        ("/users/a%2Fb/reports", "a%2Fb"),
        ("/users/a%2Bb/reports", "a%2Bb"),
        ("/users/100%25/reports", "100%25"),
    ] {
        assert_refused_without_hint(call(path, json!({ "sub": sub })), &[]);
    }
}

#[test]
fn integer_claims_and_several_comparisons_in_one_claim() {
    let srv = server();
    let call = |path: &str, claims| get(srv.addr, path, &[&bearer(token(claims).as_str())]);
    // claim(level = 3, org = "r&d"): both.
    assert_eq!(
        call("/levels/0", json!({ "level": 3, "org": "r&d" })).status,
        200
    );
    assert_eq!(
        call("/levels/0", json!({ "level": 3, "org": "ops" })).status,
        403
    );
    assert_eq!(
        call("/levels/0", json!({ "level": "3", "org": "r&d" })).status,
        403
    );
    // claim(level = path.level): a number whose decimal form is the parameter.
    assert_eq!(call("/levels/7", json!({ "level": 7 })).status, 200);
    assert_eq!(call("/levels/7", json!({ "level": 8 })).status, 403);
    assert_eq!(call("/levels/07", json!({ "level": 7 })).status, 403);
}

#[test]
fn the_openapi_document_describes_the_claims() {
    let doc = endpoint_auth::openapi::SecurityDoc::new(SCOPES).document("claims", "1");
    assert_eq!(
        doc["paths"]["/users/{user_id}/reports"]["get"]["x-claims"]["requirement"],
        "any(role = \"reports-admin\", claim(sub = path.user_id))"
    );
    assert_eq!(
        doc["paths"]["/acme/reports"]["get"]["security"],
        json!([{ "bearerAuth": ["read:reports"] }])
    );
}
