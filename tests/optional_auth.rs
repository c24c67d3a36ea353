//! Optional authentication (issue 20), over real HTTP with real signed tokens: a handler that
//! takes a `MaybePrincipal` runs anonymously without credentials, gets the caller with a
//! valid token, and never serves bad credentials as anonymous (CONFORMANCE.md, the two
//! "optional authentication" rows).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::{get, post, web, HttpResponse};
use common::*;
use endpoint_auth::openapi::{public_handlers, SecurityDoc};
use endpoint_auth::testing::{
    assert_invalid_request, assert_invalid_token, assert_unauthorized, assert_unavailable,
    TestIssuer,
};
use endpoint_auth::{public, MaybePrincipal, Principal};
use serde_json::json;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

/// How many times a handler of this binary ran: a bad token must never reach one.
static RUNS: AtomicUsize = AtomicUsize::new(0);

/// The tests count handler runs in one counter: they take turns, or a test running beside
/// another would see the other's runs.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn runs() -> usize {
    RUNS.load(Ordering::SeqCst)
}

/// "Public reports, plus mine when signed in": who the handler saw.
#[public(reason = "public reports; the caller's own too when signed in")]
#[get("/feed")]
async fn feed(caller: MaybePrincipal) -> HttpResponse {
    RUNS.fetch_add(1, Ordering::SeqCst);
    match caller.as_ref() {
        Some(p) => HttpResponse::Ok().body(format!("signed in as {}", p.subject().unwrap_or("?"))),
        None => HttpResponse::Ok().body("anonymous"),
    }
}

#[derive(serde::Deserialize)]
struct Tenant {
    tenant: String,
}

/// The application's own claims: a token without them is refused, not made anonymous.
#[public]
#[get("/tenant")]
async fn tenant(caller: MaybePrincipal<Tenant>) -> HttpResponse {
    RUNS.fetch_add(1, Ordering::SeqCst);
    let tenant = caller.into_option().map(|p| p.into_extra().tenant);
    HttpResponse::Ok().body(tenant.unwrap_or_else(|| "no tenant".to_owned()))
}

#[derive(serde::Deserialize)]
struct Comment {
    text: String,
}

/// The form-body token method: the body is read for `access_token`, then handed on.
#[public]
#[post("/comments")]
async fn comment(caller: MaybePrincipal, form: web::Form<Comment>) -> HttpResponse {
    let who = caller
        .as_ref()
        .and_then(|p| p.subject())
        .unwrap_or("anonymous");
    HttpResponse::Ok().body(format!("{who}: {}", form.text))
}

#[public]
#[get("/about")]
async fn about() -> HttpResponse {
    HttpResponse::Ok().body("about")
}

/// Not declared `#[public]`: under deny-by-default the middleware asks for a token first.
#[get("/undeclared")]
async fn undeclared(caller: MaybePrincipal) -> HttpResponse {
    HttpResponse::Ok().body(if caller.is_some() {
        "caller"
    } else {
        "anonymous"
    })
}

/// The trap `MaybePrincipal` exists for: actix-web's `Option<T>` extractor turns every error
/// into `None`. (No attribute here: `#[public]` and `#[requires]` refuse this parameter.)
async fn option_principal(caller: Option<Principal>) -> HttpResponse {
    HttpResponse::Ok().body(if caller.is_some() {
        "caller"
    } else {
        "anonymous"
    })
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(feed)
        .service(tenant)
        .service(comment)
        .service(about)
        .service(undeclared)
        .route("/option-principal", web::get().to(option_principal));
}

#[test]
fn without_credentials_the_handler_runs_anonymously() {
    let _serial = serial();
    let issuer = TestIssuer::new(SCOPES);
    let s = serve_wrapped(issuer.auth_config(), routes);
    // No header, an empty one, another scheme: no bearer credentials at all.
    for headers in [
        &[][..],
        &["Authorization:"],
        &["Authorization: Basic dXNlcjpwYXNz"],
    ] {
        let r = get(s.addr, "/feed", headers);
        assert_eq!(r.status, 200, "{headers:?}: {}", r.text());
        assert_eq!(r.text(), "anonymous", "{headers:?}");
        assert!(r.header("www-authenticate").is_none(), "{headers:?}");
    }
    assert_eq!(get(s.addr, "/tenant", &[]).text(), "no tenant");
}

#[test]
fn a_valid_token_gives_the_handler_its_caller() {
    let _serial = serial();
    let issuer = TestIssuer::new(SCOPES);
    let s = serve_wrapped(issuer.auth_config(), routes);
    let token = issuer.token().subject("alice").sign();
    let r = get(s.addr, "/feed", &[&bearer(&token)]);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "signed in as alice");
    let token = issuer.token().claim("tenant", "acme").sign();
    assert_eq!(get(s.addr, "/tenant", &[&bearer(&token)]).text(), "acme");
}

#[test]
fn an_expired_or_forged_token_is_401_invalid_token_never_anonymous() {
    let _serial = serial();
    let issuer = TestIssuer::new(SCOPES);
    let s = serve_wrapped(issuer.auth_config(), routes);
    let before = runs();
    for token in [
        issuer.token().expired().sign(),
        issuer.token().signed_by_other_key().sign(),
        issuer.token().wrong_audience().sign(),
        issuer.token().alg_none().sign(),
    ] {
        let r = get(s.addr, "/feed", &[&bearer(&token)]);
        let challenge = assert_invalid_token(r.raw());
        assert_eq!(challenge.param("realm"), Some("test-api"));
    }
    let r = get(
        s.addr,
        "/feed",
        &[&bearer(&issuer.token().expired().sign())],
    );
    assert_eq!(
        r.challenge(),
        "Bearer realm=\"test-api\", error=\"invalid_token\", error_description=\"the access token has expired\""
    );
    // A valid token without the claims the handler's type requires: refused, not anonymous.
    assert_invalid_token(get(s.addr, "/tenant", &[&bearer(&issuer.token().sign())]).raw());
    assert_eq!(runs(), before, "a handler ran for a bad token");
}

#[test]
fn malformed_credentials_are_400_invalid_request_never_anonymous() {
    let _serial = serial();
    let issuer = TestIssuer::new(SCOPES);
    let s = serve_wrapped(issuer.auth_config(), routes);
    let token = issuer.token().sign();
    let before = runs();
    for headers in [
        vec!["Authorization: Bearer".to_owned()],
        vec![format!("Authorization: Bearer {token} extra")],
        vec![format!("Authorization: Bearer\t{token}")],
        vec![bearer(&token), bearer(&token)],
    ] {
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        assert_invalid_request(get(s.addr, "/feed", &headers).raw());
    }
    assert_eq!(runs(), before, "a handler ran for malformed credentials");
}

#[test]
fn with_the_form_body_method_the_body_is_searched_and_still_handed_on() {
    let _serial = serial();
    let issuer = TestIssuer::new(SCOPES);
    let auth = issuer.config().allow_form_body_token().build().unwrap();
    let s = serve_wrapped(auth, routes);
    let form = "Content-Type: application/x-www-form-urlencoded";
    let r = request(s.addr, "POST", "/comments", &[form], b"text=hello");
    assert_eq!((r.status, r.text().as_str()), (200, "anonymous: hello"));
    let token = issuer.token().subject("bob").sign();
    let body = format!("text=hello&access_token={token}");
    let r = request(s.addr, "POST", "/comments", &[form], body.as_bytes());
    assert_eq!((r.status, r.text().as_str()), (200, "bob: hello"));
    let expired = issuer.token().expired().sign();
    let body = format!("text=hello&access_token={expired}");
    assert_invalid_token(request(s.addr, "POST", "/comments", &[form], body.as_bytes()).raw());
}

#[test]
fn while_keys_are_unavailable_a_token_gets_503_and_anonymous_callers_are_served() {
    let _serial = serial();
    let issuer = TestIssuer::new(SCOPES).serve();
    issuer.fail_with(500);
    let s = serve_wrapped(issuer.auth_config(), routes);
    let token = issuer.token().sign();
    assert_unavailable(get(s.addr, "/feed", &[&bearer(&token)]).raw());
    let r = get(s.addr, "/feed", &[]);
    assert_eq!((r.status, r.text().as_str()), (200, "anonymous"));
}

#[test]
fn a_valid_token_is_accepted_on_the_first_request_while_keys_are_fetched() {
    let _serial = serial();
    let issuer = TestIssuer::new(SCOPES).serve();
    let s = serve_wrapped(issuer.auth_config(), routes);
    let token = issuer.token().subject("carol").sign();
    let r = get(s.addr, "/feed", &[&bearer(&token)]);
    assert_eq!((r.status, r.text().as_str()), (200, "signed in as carol"));
}

#[test]
fn under_deny_by_default_an_optional_public_route_stays_open_to_anonymous_callers() {
    let _serial = serial();
    let issuer = TestIssuer::new(SCOPES);
    let auth = issuer.config().deny_by_default().build().unwrap();
    let s = serve_wrapped(auth, routes);
    let r = get(s.addr, "/feed", &[]);
    assert_eq!((r.status, r.text().as_str()), (200, "anonymous"));
    let token = issuer.token().subject("dave").sign();
    assert_eq!(
        get(s.addr, "/feed", &[&bearer(&token)]).text(),
        "signed in as dave"
    );
    assert_invalid_token(
        get(
            s.addr,
            "/feed",
            &[&bearer(&issuer.token().expired().sign())],
        )
        .raw(),
    );
    assert_invalid_request(get(s.addr, "/feed", &["Authorization: Bearer"]).raw());
    // Not declared #[public]: deny-by-default asks for a token before the handler runs.
    assert_unauthorized(get(s.addr, "/undeclared", &[]).raw());
    assert_eq!(
        get(s.addr, "/undeclared", &[&bearer(&token)]).text(),
        "caller"
    );
}

#[test]
fn option_principal_without_an_attribute_makes_a_bad_token_anonymous() {
    let _serial = serial();
    // Why `#[public]`/`#[requires]` refuse `Option<Principal>` and MaybePrincipal exists.
    let issuer = TestIssuer::new(SCOPES);
    let s = serve_wrapped(issuer.auth_config(), routes);
    let expired = issuer.token().expired().sign();
    let r = get(s.addr, "/option-principal", &[&bearer(&expired)]);
    assert_eq!((r.status, r.text().as_str()), (200, "anonymous"));
    // The same token on the MaybePrincipal route:
    assert_invalid_token(get(s.addr, "/feed", &[&bearer(&expired)]).raw());
}

#[test]
fn an_optional_public_handler_is_registered_and_documented_as_optional_security() {
    let _serial = serial();
    let registered = public_handlers()
        .into_iter()
        .find(|h| h.handler() == "feed")
        .expect("feed is registered");
    assert!(registered.optional_caller());
    assert_eq!(
        registered.reason(),
        Some("public reports; the caller's own too when signed in")
    );
    let doc = SecurityDoc::new(SCOPES)
        .client_credentials("https://idp.test/token")
        .document("svc", "1");
    let op = &doc["paths"]["/feed"]["get"];
    assert_eq!(op["security"], json!([{}, { "oauth2": [] }]));
    assert!(op["responses"]["401"]["headers"]["WWW-Authenticate"].is_object());
    assert!(op["responses"].get("403").is_none());
    // A #[public] handler that never reads the caller stays plainly open.
    assert_eq!(doc["paths"]["/about"]["get"]["security"], json!([]));
}
