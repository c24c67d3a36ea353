//! The revocation check (issue 22), with in-process implementations: a revoked token is 401
//! `invalid_token` saying so, on every request (token-cache hits included), decided after
//! verification and before any other extractor can answer; a check that cannot answer is 503
//! with `Retry-After` unless the configuration fails open; a token without `jti` is refused
//! without asking a check that needs one. Real signed tokens from the testing kit, the real
//! middleware and extractors (`actix_web::test`). The shared Redis store is
//! `tests/revocation_redis.rs`.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{get, post, test, web, App, HttpResponse};
use common::revocation::{get_reports, now, token};
use endpoint_auth::revocation::{
    MemoryRevocationList, RevocationCheck, RevocationError, RevocationFuture, StoreUnavailable,
};
use endpoint_auth::testing::{
    assert_invalid_token, assert_unauthorized, assert_unavailable, TestIssuer, TestRequestExt,
    TestToken,
};
use endpoint_auth::{public, requires, AuthConfig, MaybePrincipal, Principal, Verified};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

#[requires(scope = "read:reports")]
#[get("/reports")]
async fn reports(caller: Principal) -> HttpResponse {
    HttpResponse::Ok().body(caller.subject().unwrap_or_default().to_owned())
}

#[requires(scope = "read:reports")]
#[post("/reports/{id}/notes")]
async fn update_report(id: web::Path<u64>, body: web::Json<serde_json::Value>) -> HttpResponse {
    let _ = body;
    HttpResponse::Ok().body(format!("updated {id}"))
}

#[public(reason = "liveness probe")]
#[get("/health")]
async fn health() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

#[public(reason = "public reports; the caller's own too when signed in")]
#[get("/reports/public")]
async fn public_reports(caller: MaybePrincipal) -> HttpResponse {
    let who = caller
        .as_ref()
        .and_then(|p| p.subject())
        .unwrap_or("anonymous");
    HttpResponse::Ok().body(who.to_owned())
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(reports)
        .service(update_report)
        .service(health)
        .service(public_reports);
}

/// A [`MemoryRevocationList`] that counts how often it is asked.
#[derive(Clone, Default)]
struct Counted {
    list: MemoryRevocationList,
    asked: Arc<AtomicUsize>,
}

impl Counted {
    fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

impl RevocationCheck for Counted {
    fn is_revoked<'a>(&'a self, token: &'a Verified) -> RevocationFuture<'a> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.list.is_revoked(token)
    }
}

/// A list that takes its time to answer, as a network store does.
struct Slow(MemoryRevocationList);

impl RevocationCheck for Slow {
    fn is_revoked<'a>(&'a self, token: &'a Verified) -> RevocationFuture<'a> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            Ok(token.token_id().is_some_and(|id| self.0.contains(id)))
        })
    }
}

/// A store that is down.
struct Down(Arc<AtomicUsize>);

impl RevocationCheck for Down {
    fn is_revoked<'a>(&'a self, _: &'a Verified) -> RevocationFuture<'a> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Err(RevocationError::new("connection refused")) })
    }
}

/// "Every token of this user issued before they signed out everywhere": by `sub`, no `jti`.
struct SignedOutUsers(&'static [&'static str]);

impl RevocationCheck for SignedOutUsers {
    fn is_revoked<'a>(&'a self, token: &'a Verified) -> RevocationFuture<'a> {
        let revoked = token.subject().is_some_and(|s| self.0.contains(&s));
        Box::pin(std::future::ready(Ok(revoked)))
    }
    fn needs_token_id(&self) -> bool {
        false
    }
}

/// Sends `req` (a `TestRequest`) to `app`.
macro_rules! call {
    ($app:expr, $req:expr) => {
        test::call_service($app, $req.to_request()).await
    };
}

macro_rules! app {
    ($config:expr) => {
        test::init_service(App::new().wrap($config).configure(routes)).await
    };
}

#[actix_web::test]
async fn a_revoked_token_is_401_invalid_token_saying_it_was_revoked() {
    let issuer = TestIssuer::new(SCOPES);
    let revoked = MemoryRevocationList::new();
    let app = app!(issuer
        .config()
        .revocation_check(revoked.clone())
        .build()
        .unwrap());
    let (alice, bob) = (token(&issuer, "a-1"), token(&issuer, "b-1"));
    let r = call!(&app, get_reports(&alice));
    assert_eq!(r.status(), 200);

    revoked.revoke("a-1", now() + 300);
    let challenge = assert_invalid_token(call!(&app, get_reports(&alice)));
    let description = challenge.param("error_description").unwrap();
    assert!(description.contains("revoked"), "{description}");
    // Only that token: another one of the same issuer still serves.
    let r = call!(&app, get_reports(&bob));
    assert_eq!(r.status(), 200);
    assert_eq!(test::read_body(r).await, "user-b-1");
}

#[actix_web::test]
async fn a_cached_token_is_refused_once_revoked() {
    let issuer = TestIssuer::new(SCOPES);
    let check = Counted::default();
    let config = issuer
        .config()
        .revocation_check(check.clone())
        .build()
        .unwrap();
    let probe = config.clone();
    let app = app!(config);
    let t = token(&issuer, "cached-1");
    for _ in 0..3 {
        assert_eq!(call!(&app, get_reports(&t)).status(), 200);
    }
    assert_eq!(probe.cached_tokens(), 1, "the token is in the cache");
    assert_eq!(check.asked(), 3, "asked on every request, cache hits too");

    check.list.revoke("cached-1", now() + 300);
    let challenge = assert_invalid_token(call!(&app, get_reports(&t)));
    assert!(challenge
        .param("error_description")
        .unwrap()
        .contains("revoked"));
    assert_eq!(probe.cached_tokens(), 1, "refused on the cache-hit path");
    assert_eq!(check.asked(), 4);
}

/// CONFORMANCE "Order of checks": while the (slow) check is under way no `Path` or `Json`
/// error may answer: a revoked token with a bad path and a broken body is 401, not 404/400.
#[actix_web::test]
async fn revocation_is_decided_before_path_and_body_errors() {
    let issuer = TestIssuer::new(SCOPES);
    let revoked = MemoryRevocationList::new();
    let app = app!(issuer
        .config()
        .revocation_check(Slow(revoked.clone()))
        .build()
        .unwrap());
    let t = token(&issuer, "slow-1");
    let post = |path: &str| {
        test::TestRequest::post()
            .uri(path)
            .bearer(&t)
            .insert_header(("content-type", "application/json"))
            .set_payload("{broken")
    };
    // Not revoked: the handler's own extractors answer, as usual.
    assert_eq!(call!(&app, post("/reports/abc/notes")).status(), 404);
    assert_eq!(call!(&app, post("/reports/7/notes")).status(), 400);

    revoked.revoke("slow-1", now() + 300);
    assert_invalid_token(call!(&app, post("/reports/abc/notes")));
    assert_invalid_token(call!(&app, post("/reports/7/notes")));
}

#[actix_web::test]
async fn a_check_that_cannot_answer_is_503_with_retry_after_by_default() {
    let issuer = TestIssuer::new(SCOPES);
    let asked = Arc::new(AtomicUsize::new(0));
    let default = app!(issuer
        .config()
        .revocation_check(Down(asked.clone()))
        .build()
        .unwrap());
    let t = token(&issuer, "down-1");
    assert_eq!(assert_unavailable(call!(&default, get_reports(&t))), 5);

    let configured = app!(issuer
        .config()
        .revocation_check(Down(asked.clone()))
        .revocation_store_unavailable(StoreUnavailable::FailClosed {
            retry_after: Duration::from_secs(7),
        })
        .build()
        .unwrap());
    assert_eq!(assert_unavailable(call!(&configured, get_reports(&t))), 7);
    assert_eq!(asked.load(Ordering::SeqCst), 2);
}

#[actix_web::test]
async fn failing_open_accepts_tokens_while_the_check_cannot_answer() {
    let issuer = TestIssuer::new(SCOPES);
    let asked = Arc::new(AtomicUsize::new(0));
    let app = app!(issuer
        .config()
        .revocation_check(Down(asked.clone()))
        .revocation_store_unavailable(StoreUnavailable::FailOpen)
        .build()
        .unwrap());
    let r = call!(&app, get_reports(&token(&issuer, "open-1")));
    assert_eq!(r.status(), 200);
    assert_eq!(asked.load(Ordering::SeqCst), 1, "it was asked, and failed");
    // Failing open is about the store only: a bad token is still refused.
    let forged = issuer
        .token()
        .scopes(["read:reports"])
        .claim("jti", "open-2")
        .signed_by_other_key()
        .sign();
    assert_invalid_token(call!(&app, get_reports(&forged)));
}

#[actix_web::test]
async fn a_token_without_jti_is_refused_without_asking_a_check_by_jti() {
    let issuer = TestIssuer::new(SCOPES);
    let check = Counted::default();
    let app = app!(issuer
        .config()
        .revocation_check(check.clone())
        .build()
        .unwrap());
    let no_jti = issuer
        .token()
        .scopes(["read:reports"])
        .without_claim("jti")
        .sign();
    // An empty jti identifies nothing: it would make every such token one revocation entry.
    let empty_jti = issuer
        .token()
        .scopes(["read:reports"])
        .claim("jti", "")
        .sign();
    for token in [&no_jti, &empty_jti] {
        let challenge = assert_invalid_token(call!(&app, get_reports(token)));
        assert!(challenge
            .param("error_description")
            .unwrap()
            .contains("no jti claim"));
    }
    assert_eq!(check.asked(), 0);
}

#[actix_web::test]
async fn a_check_that_needs_no_jti_is_asked_about_tokens_without_one() {
    let issuer = TestIssuer::new(SCOPES);
    let app = app!(issuer
        .config()
        .revocation_check(SignedOutUsers(&["mallory"]))
        .build()
        .unwrap());
    let alice = issuer
        .token()
        .scopes(["read:reports"])
        .subject("alice")
        .without_claim("jti")
        .sign();
    let mallory = issuer
        .token()
        .scopes(["read:reports"])
        .subject("mallory")
        .without_claim("jti")
        .sign();
    assert_eq!(call!(&app, get_reports(&alice)).status(), 200);
    assert_invalid_token(call!(&app, get_reports(&mallory)));
}

/// The store is never asked about a token that is not ours: a stranger cannot make the
/// service query it.
#[actix_web::test]
async fn tokens_that_fail_verification_never_reach_the_check() {
    let issuer = TestIssuer::new(SCOPES);
    let check = Counted::default();
    let app = app!(issuer
        .config()
        .revocation_check(check.clone())
        .build()
        .unwrap());
    let base = || {
        issuer
            .token()
            .scopes(["read:reports"])
            .claim("jti", "bad-1")
    };
    for bad in [
        base().signed_by_other_key().sign(),
        base().expired().sign(),
        base().wrong_audience().sign(),
        base().wrong_issuer().sign(),
        base().tampered().sign(),
        base().alg_none().sign(),
    ] {
        assert_invalid_token(call!(&app, get_reports(&bad)));
    }
    assert_unauthorized(call!(&app, test::TestRequest::get().uri("/reports")));
    assert_eq!(check.asked(), 0);
}

/// The guard `#[requires]` adds and the handler's `Principal` share one outcome: one question
/// to the store per request.
#[actix_web::test]
async fn the_check_is_asked_once_per_request() {
    let issuer = TestIssuer::new(SCOPES);
    let check = Counted::default();
    let app = app!(issuer
        .config()
        .revocation_check(check.clone())
        .build()
        .unwrap());
    let t = token(&issuer, "once-1");
    for n in 1..=3 {
        assert_eq!(call!(&app, get_reports(&t)).status(), 200);
        assert_eq!(check.asked(), n);
    }
}

/// Deny-by-default with public routes: a public route serves whatever the token; optional
/// authentication never turns a revoked token into an anonymous caller.
#[actix_web::test]
async fn public_and_optional_routes_with_a_revoked_token() {
    let issuer = TestIssuer::new(SCOPES);
    let check = Counted::default();
    let app = app!(issuer
        .config()
        .deny_by_default()
        .revocation_check(check.clone())
        .build()
        .unwrap());
    let t = token(&issuer, "public-1");
    check.list.revoke("public-1", now() + 300);
    let probe = test::TestRequest::get().uri("/health").bearer(&t);
    assert_eq!(call!(&app, probe).status(), 200);
    let optional = test::TestRequest::get().uri("/reports/public").bearer(&t);
    assert_invalid_token(call!(&app, optional));
    let anonymous = test::TestRequest::get().uri("/reports/public");
    let r = call!(&app, anonymous);
    assert_eq!(r.status(), 200);
    assert_eq!(test::read_body(r).await, "anonymous");
    assert_invalid_token(call!(&app, get_reports(&t)));
    // An undeclared path, under deny-by-default: refused before routing.
    let undeclared = test::TestRequest::get().uri("/nowhere").bearer(&t);
    assert_invalid_token(call!(&app, undeclared));
}

/// Registered with `app_data` alone, the check could lose the race to other extractors: such
/// a configuration is refused (500, and the log says to use `wrap`), as for remote keys.
#[actix_web::test]
async fn a_configuration_with_a_check_registered_as_app_data_only_is_refused() {
    let issuer = TestIssuer::new(SCOPES);
    let config: AuthConfig = issuer
        .config()
        .revocation_check(MemoryRevocationList::new())
        .build()
        .unwrap();
    let app = test::init_service(App::new().app_data(config).configure(routes)).await;
    let r = call!(&app, get_reports(&token(&issuer, "data-1")));
    assert_eq!(r.status(), 500);
}

/// A token in a form body (RFC 6750 §2.2, opt-in) is checked too: the middleware reads the
/// body before routing, verifies, then asks the check.
#[actix_web::test]
async fn a_revoked_token_in_a_form_body_is_refused() {
    let issuer = TestIssuer::new(SCOPES);
    let revoked = MemoryRevocationList::new();
    let app = app!(issuer
        .config()
        .allow_form_body_token()
        .revocation_check(revoked.clone())
        .build()
        .unwrap());
    let t = token(&issuer, "form-1");
    let post = || {
        test::TestRequest::post()
            .uri("/reports/7/notes")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(format!("access_token={t}"))
    };
    // Not revoked: authenticated, then the handler's `Json` refuses the form body.
    assert_eq!(call!(&app, post()).status(), 400);
    revoked.revoke("form-1", now() + 300);
    assert_invalid_token(call!(&app, post()));
}

/// With remote keys the first request waits for the key fetch, then for the check: both
/// before routing, so a revoked token is 401 even then, and a good one is served.
#[actix_web::test]
async fn remote_keys_and_the_check_both_finish_before_routing() {
    let issuer = TestIssuer::new(SCOPES).serve();
    let revoked = MemoryRevocationList::new();
    revoked.revoke("remote-1", now() + 300);
    let app = app!(issuer
        .config()
        .revocation_check(Slow(revoked))
        .build()
        .unwrap());
    let post = |t: &TestToken| {
        test::TestRequest::post()
            .uri("/reports/abc/notes")
            .bearer(t)
            .insert_header(("content-type", "application/json"))
            .set_payload("{broken")
    };
    assert_invalid_token(call!(&app, post(&token(&issuer, "remote-1"))));
    assert_eq!(call!(&app, post(&token(&issuer, "remote-2"))).status(), 404);
    assert_eq!(
        call!(&app, get_reports(&token(&issuer, "remote-3"))).status(),
        200
    );
}

/// A check that never answers (a store behind a firewall that drops packets).
struct Hangs;

impl RevocationCheck for Hangs {
    fn is_revoked<'a>(&'a self, _token: &'a Verified) -> RevocationFuture<'a> {
        Box::pin(std::future::pending())
    }
}

/// A check that does not answer within `revocation_timeout` (default 1 s) cannot answer:
/// 503 + `Retry-After` (or accepted, failing open), never a request that hangs.
#[actix_web::test]
async fn a_check_that_never_answers_is_503_after_the_timeout() {
    let issuer = TestIssuer::new(SCOPES);
    let app = app!(issuer
        .config()
        .revocation_check(Hangs)
        .revocation_timeout(Duration::from_millis(200))
        .build()
        .unwrap());
    let started = std::time::Instant::now();
    let retry = assert_unavailable(call!(&app, get_reports(&token(&issuer, "hang-1"))));
    assert!(retry >= 1);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    let app = app!(issuer
        .config()
        .revocation_check(Hangs)
        .revocation_timeout(Duration::from_millis(100))
        .revocation_store_unavailable(StoreUnavailable::FailOpen)
        .build()
        .unwrap());
    assert_eq!(
        call!(&app, get_reports(&token(&issuer, "hang-2"))).status(),
        200
    );
    // Zero is not a time limit.
    let err = issuer
        .config()
        .revocation_check(Hangs)
        .revocation_timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("revocation_timeout"), "{err}");
}
