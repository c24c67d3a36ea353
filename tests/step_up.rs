//! RFC 9470 step-up over real HTTP (issue 20): `#[requires(…, acr = "…")]` and
//! `max_age = N`, alone and inside `any`/`all`, against real signed tokens. A valid token
//! whose authentication is not strong or recent enough is 401
//! `error="insufficient_user_authentication"` with `acr_values` and/or `max_age`; a token
//! that lacks the scope is 403 first (a new authentication alone would not help).

mod common;

use std::sync::OnceLock;

use actix_web::{get, post, web, HttpResponse};
use common::{bearer, get, request, serve, TestServer};
use endpoint_auth::testing::{
    assert_insufficient_scope, assert_insufficient_user_authentication, assert_invalid_token,
    TestIssuer, TestToken,
};
use endpoint_auth::{requires, Principal};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "export:reports" => "Export every report",
}

const MFA: &str = "urn:example:mfa";
const HWK: &str = "urn:example:hwk";

#[requires(scope = "export:reports", acr = "urn:example:mfa")]
#[post("/export")]
async fn export(caller: Principal, body: web::Json<serde_json::Value>) -> HttpResponse {
    let _ = body;
    HttpResponse::Ok().body(format!(
        "exported for {} ({})",
        caller.subject().unwrap_or("?"),
        caller.token().acr().unwrap_or("?")
    ))
}

#[get("/recent")]
#[requires(max_age = 300)]
async fn recent() -> HttpResponse {
    HttpResponse::Ok().body("recent")
}

#[requires(all(scope = "read:reports", acr = "urn:example:mfa", max_age = 600))]
#[get("/both")]
async fn both() -> HttpResponse {
    HttpResponse::Ok().body("both")
}

#[requires(any(
    all(scope = "read:reports", acr = "urn:example:mfa"),
    all(scope = "read:reports", acr = "urn:example:hwk"),
    scope = "export:reports"
))]
#[get("/either")]
async fn either() -> HttpResponse {
    HttpResponse::Ok().body("either")
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(export)
        .service(recent)
        .service(both)
        .service(either);
}

fn issuer() -> &'static TestIssuer {
    static ISSUER: OnceLock<TestIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| TestIssuer::new(SCOPES))
}

fn server() -> TestServer {
    serve(Some(issuer().auth_config()), routes)
}

fn now() -> i64 {
    common::now()
}

/// A token with these scopes and, when given, `acr` and `auth_time` (seconds ago).
fn token(scopes: &[&str], acr: Option<&str>, authenticated_ago: Option<i64>) -> TestToken {
    let mut t = issuer()
        .token()
        .scopes(scopes.iter().copied())
        .subject("user-1");
    if let Some(acr) = acr {
        t = t.claim("acr", acr);
    }
    if let Some(ago) = authenticated_ago {
        t = t.claim("auth_time", now() - ago);
    }
    t.sign()
}

const JSON: &str = "Content-Type: application/json";

#[test]
fn the_right_acr_passes_and_anything_else_is_asked_to_step_up() {
    let srv = server();
    let post = |t: &TestToken| {
        request(
            srv.addr,
            "POST",
            "/export",
            &[&bearer(t.as_str()), JSON],
            b"{}",
        )
    };

    let mfa = token(&["export:reports"], Some(MFA), Some(10));
    let ok = post(&mfa);
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.text(), format!("exported for user-1 ({MFA})"));

    // No acr at all, or a weaker one: 401 asking for the MFA context.
    for t in [
        token(&["export:reports"], None, Some(10)),
        token(&["export:reports"], Some("urn:example:pwd"), Some(10)),
    ] {
        let resp = post(&t);
        let challenge = resp.challenge().to_owned();
        let body = resp.json();
        assert_insufficient_user_authentication(resp.raw(), Some(MFA), None);
        assert!(
            challenge.contains("acr_values=\"urn:example:mfa\"") && !challenge.contains("scope="),
            "{challenge}"
        );
        assert_eq!(body["error"], "insufficient_user_authentication");
        assert_eq!(body["acr_values"], MFA);
    }

    // Lacking the scope is 403 before any step-up: MFA alone would not help.
    let reader = token(&["read:reports"], None, Some(10));
    assert_insufficient_scope(post(&reader).raw(), "export:reports");

    // A token that is not valid at all stays 401 invalid_token, whatever the route asks.
    let expired = issuer()
        .token()
        .scopes(["export:reports"])
        .claim("acr", MFA)
        .expired()
        .sign();
    assert_invalid_token(post(&expired).raw());
}

#[test]
fn max_age_needs_a_recent_auth_time() {
    let srv = server();
    let call = |t: &TestToken| get(srv.addr, "/recent", &[&bearer(t.as_str())]);

    let fresh = token(&[], None, Some(60));
    assert_eq!(call(&fresh).status, 200);

    // Authenticated too long ago, or no auth_time at all: 401 with max_age="300".
    for t in [token(&[], None, Some(3_600)), token(&[], None, None)] {
        let resp = call(&t);
        let challenge = assert_insufficient_user_authentication(resp.raw(), None, Some(300));
        assert_eq!(
            challenge.param("error_description"),
            Some("a more recent authentication is required")
        );
    }

    // An auth_time that is not a NumericDate makes the token invalid, not old.
    let garbled = issuer().token().claim("auth_time", "yesterday").sign();
    assert_invalid_token(call(&garbled).raw());

    // An authentication in the future would stay "recent" for the token's whole life: the
    // token is invalid (the leeway of `iat` applies: 10 s ahead is a clock skew).
    let ahead = token(&[], None, Some(-1_000_000));
    let challenge = assert_invalid_token(call(&ahead).raw());
    assert_eq!(
        challenge.param("error_description"),
        Some("the token says the user authenticated in the future")
    );
    assert_eq!(call(&token(&[], None, Some(-10))).status, 200);
}

#[test]
fn acr_and_max_age_together_are_asked_for_together() {
    let srv = server();
    let call = |t: &TestToken| get(srv.addr, "/both", &[&bearer(t.as_str())]);

    assert_eq!(
        call(&token(&["read:reports"], Some(MFA), Some(100))).status,
        200
    );
    for t in [
        token(&["read:reports"], Some(MFA), Some(3_600)),
        token(&["read:reports"], None, Some(100)),
        token(&["read:reports"], Some(MFA), None),
    ] {
        let resp = call(&t);
        let raw = resp.raw();
        let challenge = resp.challenge().to_owned();
        assert_insufficient_user_authentication(raw, Some(MFA), Some(600));
        // The contract's parameter order: … error_description, acr_values, max_age.
        let acr = challenge.find("acr_values=").unwrap();
        let age = challenge.find("max_age=").unwrap();
        assert!(
            challenge.find("error_description=").unwrap() < acr && acr < age,
            "{challenge}"
        );
    }
}

#[test]
fn any_offers_every_acr_the_token_scopes_allow() {
    let srv = server();
    let call = |t: &TestToken| get(srv.addr, "/either", &[&bearer(t.as_str())]);

    assert_eq!(call(&token(&["read:reports"], Some(HWK), None)).status, 200);
    // The export scope is an alternative without any authentication context.
    assert_eq!(call(&token(&["export:reports"], None, None)).status, 200);
    let resp = call(&token(&["read:reports"], Some("urn:example:pwd"), None));
    assert_insufficient_user_authentication(
        resp.raw(),
        Some("urn:example:mfa urn:example:hwk"),
        None,
    );
    // Neither scope: 403 with the closest scope set.
    assert_insufficient_scope(call(&token(&[], Some(MFA), None)).raw(), "read:reports");
}

#[test]
fn the_openapi_document_describes_the_step_up() {
    let doc = endpoint_auth::openapi::SecurityDoc::new(SCOPES)
        .client_credentials("https://idp.test/token")
        .document("step-up", "1");
    let op = &doc["paths"]["/export"]["post"];
    assert_eq!(
        op["security"],
        serde_json::json!([{ "oauth2": ["export:reports"] }])
    );
    assert_eq!(
        op["x-step-up"],
        serde_json::json!({
            "requirement": "all(scope = \"export:reports\", acr = \"urn:example:mfa\")",
            "acr_values": [MFA],
        })
    );
    assert!(op["responses"]["401"]["description"]
        .as_str()
        .unwrap()
        .contains("insufficient_user_authentication"));
    assert_eq!(
        doc["paths"]["/both"]["get"]["x-step-up"]["max_age"],
        serde_json::json!(600)
    );
    assert_eq!(
        doc["paths"]["/either"]["get"]["x-step-up"]["acr_values"],
        serde_json::json!([MFA, HWK])
    );
    // A requirement without authentication context has no extension.
    let plain = endpoint_auth::openapi::SecurityDoc::new(SCOPES).document("plain", "1");
    assert!(plain["paths"]["/recent"]["get"]["x-step-up"].is_object());
    assert!(op["x-step-up"]["max_age"].is_null());
    // Step-up alone (`max_age`) is refused with 401, never 403: no 403 is documented there;
    // a scope beside it can be.
    assert!(plain["paths"]["/recent"]["get"]["responses"]
        .get("403")
        .is_none());
    assert!(op["responses"]["403"].is_object());
}
