//! Error bodies the application chooses (issue 20), over real HTTP with real signed tokens:
//! `AuthConfigBuilder::error_body` replaces the body of every rejection, while the status,
//! `WWW-Authenticate`, `Cache-Control: no-store` and `Retry-After` stay as the contract says;
//! a renderer that panics or returns an unusable body gets the default one, logged once.

mod common;

use actix_web::{get, web, HttpResponse};
use common::*;
use endpoint_auth::testing::{
    assert_insufficient_scope, assert_insufficient_user_authentication, assert_invalid_request,
    assert_invalid_token, assert_unauthorized, assert_unavailable, CustomBody, TestIssuer,
};
use endpoint_auth::{requires, AuthConfigBuilder, AuthError, ErrorBody, Principal};
use serde_json::{json, Value};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Create reports",
}

const ACME_ERROR: &str = "application/vnd.acme.error+json";

#[requires(scope = "write:reports")]
#[get("/reports")]
async fn reports() -> HttpResponse {
    HttpResponse::Ok().body("[]")
}

#[requires(acr = "urn:example:mfa")]
#[get("/export")]
async fn export() -> HttpResponse {
    HttpResponse::Ok().body("export")
}

async fn me(caller: Principal) -> HttpResponse {
    HttpResponse::Ok().body(caller.subject().unwrap_or("?").to_owned())
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(reports)
        .service(export)
        .route("/me", web::get().to(me));
}

/// The shape some company's clients expect: one `error` object.
fn acme(e: &AuthError) -> ErrorBody {
    let body = json!({
        "error": {
            "status": e.status(),
            "code": e.code().as_error_param().unwrap_or(e.reason().code()),
            "message": e.description(),
            "scope": e.scope(),
            "retry_after": e.retry_after(),
            "acr_values": e.acr_values(),
        }
    });
    ErrorBody::new(ACME_ERROR, serde_json::to_vec(&body).unwrap())
}

fn with_acme(builder: AuthConfigBuilder) -> endpoint_auth::AuthConfig {
    builder.error_body(acme).build().unwrap()
}

fn acme_body(r: &Response) -> Value {
    assert_eq!(r.header("content-type"), Some(ACME_ERROR), "{r:?}");
    r.json()["error"].clone()
}

fn assert_no_store(r: &Response) {
    assert_eq!(r.header("cache-control"), Some("no-store"), "{r:?}");
}

#[test]
fn a_custom_body_on_400_401_and_403_keeps_status_and_challenge() {
    let issuer = TestIssuer::new(SCOPES);
    let s = serve_wrapped(with_acme(issuer.config()), routes);

    // 400: malformed credentials.
    let r = get(s.addr, "/reports", &["Authorization: Bearer"]);
    assert_eq!(r.status, 400);
    assert!(
        r.challenge().starts_with(
            "Bearer realm=\"test-api\", error=\"invalid_request\", error_description="
        ),
        "{}",
        r.challenge()
    );
    assert_no_store(&r);
    let body = acme_body(&r);
    assert_eq!(
        (body["status"].clone(), body["code"].clone()),
        (json!(400), json!("invalid_request"))
    );

    // 401 without credentials: the bare challenge.
    let r = get(s.addr, "/reports", &[]);
    assert_eq!(r.status, 401);
    assert_eq!(r.challenge(), "Bearer realm=\"test-api\"");
    assert_no_store(&r);
    assert_eq!(acme_body(&r)["code"], "missing");

    // 401 with an expired token.
    let r = get(
        s.addr,
        "/reports",
        &[&bearer(&issuer.token().expired().sign())],
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        r.challenge(),
        "Bearer realm=\"test-api\", error=\"invalid_token\", error_description=\"the access token has expired\""
    );
    assert_no_store(&r);
    let body = acme_body(&r);
    assert_eq!(body["code"], "invalid_token");
    assert_eq!(body["message"], "the access token has expired");

    // 403 with the scope hint, in the challenge and (by the renderer's choice) in the body.
    let reader = issuer.token().scopes(["read:reports"]).sign();
    let r = get(s.addr, "/reports", &[&bearer(&reader)]);
    assert_eq!(r.status, 403);
    assert!(
        r.challenge().ends_with(", scope=\"write:reports\""),
        "{}",
        r.challenge()
    );
    assert_no_store(&r);
    let body = acme_body(&r);
    assert_eq!(body["code"], "insufficient_scope");
    assert_eq!(body["scope"], "write:reports");

    // 401 asking for a step-up (RFC 9470): the challenge keeps `acr_values`.
    let r = get(s.addr, "/export", &[&bearer(&issuer.token().sign())]);
    assert_eq!(r.status, 401);
    assert!(
        r.challenge()
            .contains("error=\"insufficient_user_authentication\"")
            && r.challenge().contains("acr_values=\"urn:example:mfa\""),
        "{}",
        r.challenge()
    );
    assert_no_store(&r);
    let body = acme_body(&r);
    assert_eq!(body["code"], "insufficient_user_authentication");
    assert_eq!(body["acr_values"], "urn:example:mfa");

    // Allowed requests are untouched.
    let writer = issuer.token().scopes(["write:reports"]).sign();
    assert_eq!(get(s.addr, "/reports", &[&bearer(&writer)]).text(), "[]");
}

#[test]
fn a_custom_body_on_503_keeps_retry_after_and_sends_no_challenge() {
    let issuer = TestIssuer::new(SCOPES).serve();
    issuer.fail_with(500);
    let s = serve_wrapped(with_acme(issuer.config()), routes);
    let r = get(s.addr, "/me", &[&bearer(&issuer.token().sign())]);
    assert_eq!(r.status, 503, "{r:?}");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert!(r.header("www-authenticate").is_none());
    assert_no_store(&r);
    let body = acme_body(&r);
    assert_eq!(body["code"], "keys_unavailable");
    assert_eq!(body["retry_after"], retry);
}

/// The kit's assertions on a service with its own error bodies: `CustomBody` keeps every
/// check of the contract (status, challenge, `Cache-Control`, `Retry-After`) and leaves the
/// body to the application; without it, the assertion names the body it expected.
#[test]
fn the_kits_assertions_take_a_custom_body() {
    let issuer = TestIssuer::new(SCOPES);
    let s = serve_wrapped(with_acme(issuer.config()), routes);
    assert_unauthorized(CustomBody(get(s.addr, "/reports", &[]).raw()));
    assert_invalid_request(CustomBody(
        get(s.addr, "/reports", &["Authorization: Bearer"]).raw(),
    ));
    let expired = issuer.token().expired().sign();
    assert_invalid_token(CustomBody(
        get(s.addr, "/reports", &[&bearer(&expired)]).raw(),
    ));
    let reader = issuer.token().scopes(["read:reports"]).sign();
    assert_insufficient_scope(
        CustomBody(get(s.addr, "/reports", &[&bearer(&reader)]).raw()),
        "write:reports",
    );
    assert_insufficient_user_authentication(
        CustomBody(get(s.addr, "/export", &[&bearer(&issuer.token().sign())]).raw()),
        Some("urn:example:mfa"),
        None,
    );

    // The contract's own parts are still checked: a wrong scope hint fails under CustomBody.
    let wrong = std::panic::catch_unwind(|| {
        assert_insufficient_scope(
            CustomBody(get(s.addr, "/reports", &[&bearer(&reader)]).raw()),
            "read:reports",
        )
    });
    assert!(wrong.is_err(), "a wrong scope hint must fail");
    // Without CustomBody, the default body is expected and the difference named.
    let default = std::panic::catch_unwind(|| {
        assert_unauthorized(get(s.addr, "/reports", &[]).raw());
    });
    let message = default.expect_err("the acme body is not problem+json");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("Content-Type") && message.contains(ACME_ERROR),
        "{message}"
    );

    // 503 with the application's body: Retry-After and no challenge, still checked.
    let served = TestIssuer::new(SCOPES).serve();
    served.fail_with(500);
    let s = serve_wrapped(with_acme(served.config()), routes);
    let retry = assert_unavailable(CustomBody(
        get(s.addr, "/me", &[&bearer(&served.token().sign())]).raw(),
    ));
    assert!(retry >= 1);
}

#[test]
fn deny_by_default_answers_with_the_custom_body_too() {
    let issuer = TestIssuer::new(SCOPES);
    let auth = issuer
        .config()
        .deny_by_default()
        .error_body(acme)
        .build()
        .unwrap();
    let s = serve_wrapped(auth, routes);
    let r = get(s.addr, "/nowhere", &[]);
    assert_eq!(r.status, 401);
    assert_eq!(r.challenge(), "Bearer realm=\"test-api\"");
    assert_no_store(&r);
    assert_eq!(acme_body(&r)["code"], "missing");
}

/// What the renderer's own failure must look like: the default problem+json body (the kit's
/// assertions check it) with the right status and headers, and nothing of the panic.
fn assert_default_answers(s: &TestServer, issuer: &TestIssuer) {
    let r = get(s.addr, "/reports", &[]);
    assert!(!r.text().contains("secret"), "{}", r.text());
    assert_unauthorized(r.raw());
    assert_invalid_request(get(s.addr, "/reports", &["Authorization: Bearer"]).raw());
    let expired = issuer.token().expired().sign();
    assert_invalid_token(get(s.addr, "/reports", &[&bearer(&expired)]).raw());
    let reader = issuer.token().scopes(["read:reports"]).sign();
    assert_insufficient_scope(
        get(s.addr, "/reports", &[&bearer(&reader)]).raw(),
        "write:reports",
    );
}

/// Lines of this binary's log that say a renderer failed for `why`.
fn warnings(logs: &Captured, why: &str) -> usize {
    logs.lines_with("the error body renderer failed")
        .iter()
        .filter(|l| l.contains(why))
        .count()
}

/// The default panic hook would print the renderer's panics on the server threads; the test
/// expects them, so only theirs are kept quiet (every other panic is reported as usual).
fn quiet_expected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let expected = info
                .payload()
                .downcast_ref::<&str>()
                .is_some_and(|m| m.contains("secret renderer detail"));
            if !expected {
                report(info);
            }
        }));
    });
}

#[test]
fn a_renderer_that_panics_gets_the_default_body_and_is_logged_once() {
    quiet_expected_panics();
    let logs = capture_logs();
    let issuer = TestIssuer::new(SCOPES);
    let auth = issuer
        .config()
        .error_body(|_| panic!("secret renderer detail"))
        .build()
        .unwrap();
    let s = serve_wrapped(auth, routes);
    assert_default_answers(&s, &issuer);
    assert_default_answers(&s, &issuer);
    assert_eq!(warnings(&logs, "it panicked"), 1, "{}", logs.peek());
    assert!(!logs.peek().contains("secret renderer detail"));
}

#[test]
fn a_renderer_with_a_bad_content_type_gets_the_default_body_and_is_logged_once() {
    let logs = capture_logs();
    let issuer = TestIssuer::new(SCOPES);
    let auth = issuer
        .config()
        // Not a media type, and a header injection attempt on top.
        .error_body(|e| {
            let content_type = if e.status() == 401 {
                "json"
            } else {
                "text/plain\r\nset-cookie: session=stolen"
            };
            ErrorBody::new(content_type, "secret")
        })
        .build()
        .unwrap();
    let s = serve_wrapped(auth, routes);
    assert_default_answers(&s, &issuer);
    let r = get(s.addr, "/reports", &["Authorization: Bearer"]);
    assert!(r.header("set-cookie").is_none());
    assert_eq!(
        warnings(&logs, "content type is not a media type"),
        1,
        "{}",
        logs.peek()
    );
}
