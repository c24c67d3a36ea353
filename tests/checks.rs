//! Checks over real HTTP (issue 19): `#[requires(…, check = owns_report)]`, a decision on
//! the application's own data. A check runs after authentication and the declared
//! requirement (it never sees an anonymous or under-scoped caller), before the handler's
//! body extractor may answer; it allows, denies (403 without a scope hint) or hides (404, no
//! challenge). Several checks run in order.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use actix_web::{delete, get, put, web, HttpRequest, HttpResponse};
use common::{bearer, request, serve, TestServer};
use endpoint_auth::actix::Decision;
use endpoint_auth::testing::{
    assert_hidden, assert_insufficient_scope, assert_unauthorized, RawResponse, TestIssuer,
    TestToken,
};
use endpoint_auth::{requires, AuthRejection, Principal};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Create and edit reports",
}

/// Report id → (owner, archived).
struct Store(HashMap<u64, (&'static str, bool)>);

static CHECKS_RUN: AtomicUsize = AtomicUsize::new(0);

/// The caller owns the report; anyone else is told it does not exist.
async fn owns_report(caller: Principal, id: web::Path<u64>, store: web::Data<Store>) -> Decision {
    CHECKS_RUN.fetch_add(1, Ordering::SeqCst);
    match store.0.get(&id) {
        Some((owner, _)) if caller.subject() == Some(*owner) => Decision::Allow,
        _ => Decision::Hide,
    }
}

/// An archived report cannot change, whoever owns it.
async fn not_archived(id: web::Path<u64>, store: web::Data<Store>) -> Decision {
    match store.0.get(&id) {
        Some((_, true)) => Decision::deny("the report is archived"),
        _ => Decision::Allow,
    }
}

/// A plain `bool` check.
async fn from_the_office(req: actix_web::HttpRequest) -> bool {
    req.headers().get("x-office").is_some()
}

#[derive(serde::Deserialize)]
struct Update {
    title: String,
}

#[requires(scope = "write:reports", check = owns_report, check = not_archived)]
#[put("/reports/{id}")]
async fn update_report(id: web::Path<u64>, body: web::Json<Update>) -> HttpResponse {
    HttpResponse::Ok().body(format!("{id}: {}", body.into_inner().title))
}

#[delete("/reports/{id}")]
#[requires(check = from_the_office)]
async fn delete_report(id: web::Path<u64>) -> HttpResponse {
    HttpResponse::Ok().body(format!("deleted {id}"))
}

/// The imperative form: the handler loads the report, then decides, answering exactly as a
/// declared check would.
#[requires(scope = "read:reports")]
#[get("/reports/{id}")]
async fn read_report(
    req: HttpRequest,
    caller: Principal,
    id: web::Path<u64>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthRejection> {
    let Some((owner, archived)) = store.0.get(&id) else {
        return Ok(HttpResponse::NotFound().finish());
    };
    Decision::from(caller.subject() == Some(*owner)).enforce(&req)?;
    if *archived {
        Decision::Hide.enforce(&req)?;
    }
    Ok(HttpResponse::Ok().body(format!("report {id}")))
}

fn routes(cfg: &mut web::ServiceConfig) {
    let store = Store(HashMap::from([(7, ("alice", false)), (8, ("alice", true))]));
    cfg.app_data(web::Data::new(store))
        .service(update_report)
        .service(delete_report)
        .service(read_report);
}

fn issuer() -> &'static TestIssuer {
    static ISSUER: OnceLock<TestIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| TestIssuer::new(SCOPES))
}

fn server() -> TestServer {
    serve(Some(issuer().auth_config()), routes)
}

fn token(subject: &str, scopes: &[&str]) -> TestToken {
    issuer()
        .token()
        .subject(subject)
        .scopes(scopes.iter().copied())
        .sign()
}

const JSON: &str = "Content-Type: application/json";

#[test]
fn checks_decide_after_the_requirement_and_before_the_body() {
    let srv = server();
    let put = |path: &str, t: Option<&TestToken>, body: &[u8]| {
        let auth = t.map(|t| bearer(t.as_str()));
        let mut headers = vec![JSON];
        if let Some(a) = &auth {
            headers.push(a);
        }
        request(srv.addr, "PUT", path, &headers, body)
    };
    let alice = token("alice", &["write:reports"]);
    let bob = token("bob", &["write:reports"]);
    let reader = token("alice", &["read:reports"]);
    let body = br#"{"title":"new"}"#;

    // The owner gets through both checks.
    let r = put("/reports/7", Some(&alice), body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "7: new");

    // Someone else, or a report that does not exist: 404, no challenge, the same answer.
    for (path, who) in [("/reports/7", &bob), ("/reports/99", &alice)] {
        let r = put(path, Some(who), body);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.header_count("www-authenticate"), 0);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.json()["status"], 404);
        assert_hidden(r.raw());
    }

    // The second check: 403 with the check's reason and no scope hint.
    let r = put("/reports/8", Some(&alice), body);
    let challenge = r.challenge().to_owned();
    let c = assert_insufficient_scope(r.raw(), "");
    assert_eq!(c.param("scope"), None, "{challenge}");
    assert_eq!(c.param("error_description"), Some("the report is archived"));

    // The check answers before the body extractor: a broken body from someone else is 404,
    // never 400; from the owner it reaches the handler's extractor (400).
    assert_eq!(put("/reports/7", Some(&bob), b"{not json").status, 404);
    assert_eq!(put("/reports/7", Some(&alice), b"{not json").status, 400);

    // Authentication and the requirement come first: the check never runs for them.
    let before = CHECKS_RUN.load(Ordering::SeqCst);
    assert_unauthorized(put("/reports/7", None, body).raw());
    assert_insufficient_scope(
        put("/reports/7", Some(&reader), body).raw(),
        "write:reports",
    );
    assert_eq!(CHECKS_RUN.load(Ordering::SeqCst), before);
}

#[test]
fn a_bool_check_alone_needs_a_valid_token_first() {
    let srv = server();
    let t = token("carol", &[]);
    let del = |headers: &[&str]| request(srv.addr, "DELETE", "/reports/7", headers, b"");
    assert_eq!(del(&[&bearer(t.as_str()), "X-Office: yes"]).status, 200);
    let r = del(&[&bearer(t.as_str())]);
    let c = assert_insufficient_scope(r.raw(), "");
    assert_eq!(
        c.param("error_description"),
        Some("a check of this endpoint refused the request")
    );
    assert_unauthorized(del(&["X-Office: yes"]).raw());
}

#[test]
fn the_imperative_form_answers_like_a_declared_check() {
    let srv = server();
    let call = |path: &str, t: &TestToken| common::get(srv.addr, path, &[&bearer(t.as_str())]);
    let alice = token("alice", &["read:reports"]);
    let bob = token("bob", &["read:reports"]);
    assert_eq!(call("/reports/7", &alice).status, 200);
    let r = call("/reports/7", &bob);
    let c = assert_insufficient_scope(r.raw(), "");
    assert_eq!(c.param("scope"), None);
    let r = call("/reports/8", &alice);
    assert_eq!(r.status, 404);
    assert_eq!(r.header_count("www-authenticate"), 0);
}

#[test]
fn the_openapi_document_names_the_checks() {
    let doc = endpoint_auth::openapi::SecurityDoc::new(SCOPES).document("checks", "1");
    assert_eq!(
        doc["paths"]["/reports/{id}"]["put"]["x-checks"],
        serde_json::json!(["owns_report", "not_archived"])
    );
    assert_eq!(
        doc["paths"]["/reports/{id}"]["delete"]["x-checks"],
        serde_json::json!(["from_the_office"])
    );
    assert!(doc["paths"]["/reports/{id}"]["get"]["x-checks"].is_null());
    // A check may hide what the caller may not see: the 404 is documented where there are
    // checks, without a challenge; a protected operation may also answer 503 (its token
    // cannot be checked right now), with Retry-After and no challenge (found by a user
    // study: neither was documented).
    for method in ["put", "delete"] {
        let hidden = &doc["paths"]["/reports/{id}"][method]["responses"]["404"];
        assert!(
            hidden["description"].as_str().unwrap().contains("x-checks"),
            "{hidden}"
        );
        assert!(
            hidden["headers"].get("WWW-Authenticate").is_none(),
            "{hidden}"
        );
    }
    assert!(doc["paths"]["/reports/{id}"]["get"]["responses"]
        .get("404")
        .is_none());
    for method in ["get", "put", "delete"] {
        let unavailable = &doc["paths"]["/reports/{id}"][method]["responses"]["503"];
        assert!(
            unavailable["headers"]["Retry-After"].is_object(),
            "{unavailable}"
        );
        assert!(
            unavailable["headers"].get("WWW-Authenticate").is_none(),
            "{unavailable}"
        );
    }
}

/// The kit's assertion for a hidden resource refuses a 404 that does not look like one: an
/// empty 404 (actix-web's own) tells existence apart from hiding.
#[test]
#[should_panic(
    expected = "assert_hidden: expected the 404 of a check that hides the resource, got 404 Not Found with no WWW-Authenticate and no problem+json body"
)]
fn an_empty_404_is_not_a_hidden_resource() {
    assert_hidden(RawResponse::new(404, [("content-length", "0")], ""));
}
