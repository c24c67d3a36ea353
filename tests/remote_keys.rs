//! Remote keys (issue 4): JWKS and discovery against a real key server on 127.0.0.1.

mod common;

use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};
use common::keyserver::{discovery_config, jwk, jwks, jwks_config, metadata, KeyServer, Reply};
use common::*;
use endpoint_auth::{
    Algorithm, AuthConfig, Authorized, ConfigError, Principal, RemoteSettings, Requirement,
    RequirementSpec,
};
use jsonwebtoken::Header;
use serde_json::json;

struct Read;
impl RequirementSpec for Read {
    const REQUIREMENT: Requirement = Requirement::Scope("read:reports");
}

async fn me(_p: Principal) -> HttpResponse {
    HttpResponse::Ok().finish()
}
async fn create(_a: Authorized<Read>, _b: web::Json<serde_json::Value>) -> HttpResponse {
    HttpResponse::Created().finish()
}
async fn item(_a: Authorized<Read>, id: web::Path<u32>) -> HttpResponse {
    HttpResponse::Ok().body(id.to_string())
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me))
        .route("/create", web::post().to(create))
        .route("/items/{id}", web::get().to(item));
}

fn settings() -> RemoteSettings {
    RemoteSettings::default()
}

/// A token signed by `alg`'s test key, announcing `kid`.
fn signed(alg: Algorithm, kid: &str) -> String {
    let mut h = Header::new(alg);
    h.kid = Some(kid.into());
    mint_with_header(&h, &claims("read:reports"))
}

fn status(s: &TestServer, token: &str) -> u16 {
    get(s.addr, "/me", &[&bearer(token)]).status
}

#[test]
fn rotation_with_default_settings_accepts_each_new_kid_on_its_first_request() {
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::RS256, "k1")]), None),
    );
    let config = jwks_config(&ks.url("/jwks"), settings());
    let srv = serve(Some(config), routes);
    assert_eq!(status(&srv, &signed(Algorithm::RS256, "k1")), 200);
    let fetched = ks.hits("/jwks");
    // The provider publishes k2 and signs with it at once: right after a fetch, the
    // first k2 token is accepted (one refresh), and so is the first k3 token after that.
    ks.set(
        "/jwks",
        Reply::Json(
            jwks(&[jwk(Algorithm::RS256, "k1"), jwk(Algorithm::ES256, "k2")]),
            None,
        ),
    );
    assert_eq!(status(&srv, &signed(Algorithm::ES256, "k2")), 200);
    assert_eq!(ks.hits("/jwks"), fetched + 1);
    ks.set(
        "/jwks",
        Reply::Json(
            jwks(&[jwk(Algorithm::ES256, "k2"), jwk(Algorithm::EdDSA, "k3")]),
            None,
        ),
    );
    assert_eq!(status(&srv, &signed(Algorithm::EdDSA, "k3")), 200);
    assert_eq!(ks.hits("/jwks"), fetched + 2);
    // Known kids cost nothing more.
    assert_eq!(status(&srv, &signed(Algorithm::ES256, "k2")), 200);
    assert_eq!(ks.hits("/jwks"), fetched + 2);
}

#[test]
fn a_withdrawn_key_is_refused_once_the_key_set_is_refreshed() {
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Json(
            jwks(&[jwk(Algorithm::RS256, "k1"), jwk(Algorithm::ES256, "k2")]),
            Some(1),
        ),
    );
    let mut s = settings();
    s.min_ttl = Duration::from_secs(1);
    let srv = serve(Some(jwks_config(&ks.url("/jwks"), s)), routes);
    assert_eq!(status(&srv, &signed(Algorithm::RS256, "k1")), 200);
    // k1 is withdrawn: once the set's lifetime (max-age=1) ends and the background refresh
    // has run, its tokens are refused.
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::ES256, "k2")]), Some(1)),
    );
    let before = ks.hits("/jwks");
    let deadline = Instant::now() + Duration::from_secs(5);
    while ks.hits("/jwks") == before {
        assert!(Instant::now() < deadline, "no background refresh");
        // Requests are what notice the set's age.
        let _ = status(&srv, &signed(Algorithm::ES256, "k2"));
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(100));
    let r = get(srv.addr, "/me", &[&bearer(&signed(Algorithm::RS256, "k1"))]);
    assert_eq!(r.status, 401);
    assert!(r.challenge().contains("error=\"invalid_token\""));
    assert_eq!(status(&srv, &signed(Algorithm::ES256, "k2")), 200);
}

#[test]
fn a_flood_of_unknown_kids_causes_a_handful_of_fetches() {
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::RS256, "k1")]), None),
    );
    let srv = serve(Some(jwks_config(&ks.url("/jwks"), settings())), routes);
    assert_eq!(status(&srv, &signed(Algorithm::RS256, "k1")), 200);
    assert_eq!(ks.hits("/jwks"), 1);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let addr = srv.addr;
            std::thread::spawn(move || {
                for i in 0..250 {
                    let kid = format!("random-{t}-{i}-{}", now());
                    let r = get(addr, "/me", &[&bearer(&signed(Algorithm::RS256, &kid))]);
                    assert_eq!(r.status, 401);
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    // The first fetch, then the unknown-kid budget (3 at once); the flood takes far less
    // than the 30 s cooldown that refills it.
    let burst = RemoteSettings::default().unknown_kid_burst as usize;
    assert!(
        ks.hits("/jwks") <= 1 + burst,
        "{} fetches for 1,000 unknown kids",
        ks.hits("/jwks")
    );
}

#[test]
fn a_hundred_concurrent_first_requests_cause_exactly_one_fetch() {
    let ks = KeyServer::start();
    // A little latency so that all requests arrive while the first fetch is in flight.
    ks.set(
        "/jwks",
        Reply::Slow(
            Duration::from_millis(300),
            Box::new(Reply::Json(jwks(&[jwk(Algorithm::ES256, "k1")]), None)),
        ),
    );
    let srv = serve(Some(jwks_config(&ks.url("/jwks"), settings())), routes);
    let token = signed(Algorithm::ES256, "k1");
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(100));
    let threads: Vec<_> = (0..100)
        .map(|_| {
            let (addr, token, barrier) = (srv.addr, token.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                get(addr, "/me", &[&bearer(&token)]).status
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 200);
    }
    assert_eq!(ks.hits("/jwks"), 1);
}

#[test]
fn key_server_down_before_the_first_fetch_is_503_with_retry_after() {
    let ks = KeyServer::start();
    let url = ks.url("/jwks");
    ks.stop();
    let srv = serve(Some(jwks_config(&url, settings())), routes);
    let r = get(srv.addr, "/me", &[&bearer(&signed(Algorithm::RS256, "k1"))]);
    assert_eq!(r.status, 503);
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert!(r.header("www-authenticate").is_none());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // Requests without a token do not depend on keys: still 401.
    assert_eq!(get(srv.addr, "/me", &[]).status, 401);
}

#[test]
fn key_server_down_after_a_fetch_keeps_serving_cached_keys_until_max_stale() {
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::EdDSA, "k1")]), Some(1)),
    );
    let mut s = settings();
    s.min_ttl = Duration::from_secs(1);
    s.max_stale = Duration::from_secs(2);
    let srv = serve(Some(jwks_config(&ks.url("/jwks"), s)), routes);
    let token = signed(Algorithm::EdDSA, "k1");
    assert_eq!(status(&srv, &token), 200);
    ks.stop();
    // Expired (ttl 1 s) and the refresh fails: stale keys keep serving.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(status(&srv, &token), 200);
    // Past ttl + max_stale: no usable keys.
    std::thread::sleep(Duration::from_millis(2000));
    assert_eq!(status(&srv, &token), 503);
}

#[test]
fn a_slow_key_server_fails_within_the_timeout() {
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Slow(
            Duration::from_secs(5),
            Box::new(Reply::Json(jwks(&[jwk(Algorithm::RS256, "k1")]), None)),
        ),
    );
    let mut s = settings();
    s.timeout = Duration::from_millis(500);
    let srv = serve(Some(jwks_config(&ks.url("/jwks"), s)), routes);
    let started = Instant::now();
    let r = get(srv.addr, "/me", &[&bearer(&signed(Algorithm::RS256, "k1"))]);
    assert_eq!(r.status, 503);
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn unusable_keys_are_skipped_and_garbage_or_oversized_documents_keep_the_good_keys() {
    let ks = KeyServer::start();
    let partial = json!({ "keys": [
        {"kty": "RSA", "use": "enc", "kid": "enc", "n": "AQAB", "e": "AQAB"},
        {"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"},
        {"kty": "weird", "kid": "w"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        jwk(Algorithm::ES384, "good"),
    ]});
    ks.set("/jwks", Reply::Json(partial.to_string(), Some(1)));
    let mut s = settings();
    s.min_ttl = Duration::from_secs(1);
    s.retry_min = Duration::from_millis(100);
    s.retry_max = Duration::from_millis(200);
    s.max_response_bytes = 64 * 1024;
    let srv = serve(Some(jwks_config(&ks.url("/jwks"), s)), routes);
    let token = signed(Algorithm::ES384, "good");
    assert_eq!(status(&srv, &token), 200);

    for bad in [
        Reply::Json("<html>not json</html>".into(), Some(1)),
        Reply::Json(
            format!("{{\"keys\":[],\"pad\":\"{}\"}}", "x".repeat(100_000)),
            Some(1),
        ),
        Reply::Json("{\"keys\": []}".into(), Some(1)),
        Reply::Status(500),
    ] {
        ks.set("/jwks", bad.clone());
        // The background refresh (due 0.8 s into the 1 s lifetime, then retried) meets it.
        let before = ks.hits("/jwks");
        let deadline = Instant::now() + Duration::from_secs(5);
        while ks.hits("/jwks") < before + 2 {
            assert!(
                Instant::now() < deadline,
                "no refresh attempted for {bad:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(status(&srv, &token), 200, "{bad:?}");
    }
}

#[test]
fn garbage_first_document_is_503() {
    let ks = KeyServer::start();
    ks.set("/jwks", Reply::Json("not json".into(), None));
    let srv = serve(Some(jwks_config(&ks.url("/jwks"), settings())), routes);
    assert_eq!(status(&srv, &signed(Algorithm::RS256, "k1")), 503);
}

#[test]
fn garbage_tokens_never_cause_a_fetch() {
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::RS256, "k1")]), None),
    );
    let srv = serve(Some(jwks_config(&ks.url("/jwks"), settings())), routes);
    // The workers' startup fetch, then nothing more.
    let deadline = Instant::now() + Duration::from_secs(5);
    while ks.hits("/jwks") == 0 {
        assert!(Instant::now() < deadline, "no startup fetch");
        std::thread::sleep(Duration::from_millis(20));
    }
    for t in [
        "abc",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.e30.",
        &signed(Algorithm::RS256, "k1").replace("eyJ", "eyK"),
    ] {
        assert_eq!(status(&srv, t), 401, "{t}");
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(ks.hits("/jwks"), 1);
}

#[test]
fn discovery_finds_the_jwks_and_a_mismatched_issuer_is_refused() {
    let ks = KeyServer::start();
    let issuer = ks.url("/tenant");
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::RS256, "k1")]), None),
    );
    ks.set(
        "/tenant/.well-known/openid-configuration",
        metadata(&issuer, &ks.url("/jwks")),
    );
    let cfg = discovery_config(&issuer);
    let rt = actix_web::rt::System::new();
    assert_eq!(rt.block_on(cfg.prefetch_keys()).unwrap(), 1);
    let srv = serve(Some(cfg), routes);
    let mut c = claims("read:reports");
    c["iss"] = json!(issuer);
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("k1".into());
    assert_eq!(status(&srv, &mint_with_header(&h, &c)), 200);

    // A provider that names another issuer (here: a trailing slash) is refused.
    ks.set(
        "/tenant/.well-known/openid-configuration",
        metadata(&format!("{issuer}/"), &ks.url("/jwks")),
    );
    let cfg = discovery_config(&issuer);
    let err = rt.block_on(cfg.prefetch_keys()).unwrap_err().to_string();
    assert!(err.contains("expected exactly"), "{err}");
}

#[test]
fn rfc8414_metadata_is_used_when_oidc_discovery_is_absent() {
    let ks = KeyServer::start();
    let issuer = ks.url("/as");
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::ES256, "k1")]), None),
    );
    ks.set(
        "/.well-known/oauth-authorization-server/as",
        metadata(&issuer, &ks.url("/jwks")),
    );
    let cfg = discovery_config(&issuer);
    assert_eq!(
        actix_web::rt::System::new()
            .block_on(cfg.prefetch_keys())
            .unwrap(),
        1
    );
}

#[test]
fn non_loopback_http_key_urls_are_refused_at_startup() {
    let err = AuthConfig::builder()
        .realm(REALM)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .jwks_url("http://idp.example/jwks")
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::Remote(_)), "{err}");
}

#[test]
fn with_the_middleware_other_extractors_never_answer_before_authentication_during_a_fetch() {
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Slow(
            Duration::from_millis(300),
            Box::new(Reply::Json(jwks(&[jwk(Algorithm::RS256, "k1")]), None)),
        ),
    );
    let srv = serve_wrapped(jwks_config(&ks.url("/jwks"), settings()), routes);
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("k1".into());
    let no_scope = mint_with_header(&h, &claims("other"));
    // First request, keys not fetched yet: a scope-less token with a broken path is 403, not 404.
    let r = get(srv.addr, "/items/not-a-number", &[&bearer(&no_scope)]);
    assert_eq!(r.status, 403, "{}", r.text());
}

/// The same with the token in the query (`allow_query_token`): the middleware finds it there
/// too and waits for the keys before routing, so `Path` cannot answer 404 first; both before
/// the first fetch and for a new `kid` (a rotation's refetch). Fails if the middleware looks
/// only at the Authorization header.
#[test]
fn a_query_token_waiting_for_keys_is_decided_before_other_extractors() {
    let ks = KeyServer::start();
    let slow = |kids: &[&str]| {
        let keys: Vec<_> = kids.iter().map(|k| jwk(Algorithm::RS256, k)).collect();
        Reply::Slow(
            Duration::from_millis(300),
            Box::new(Reply::Json(jwks(&keys), None)),
        )
    };
    ks.set("/jwks", slow(&["k1"]));
    let auth = AuthConfig::builder()
        .realm(REALM)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .jwks_url(ks.url("/jwks"))
        .remote_settings(settings())
        .allow_query_token()
        .build()
        .unwrap();
    let srv = serve_wrapped(auth, routes);
    let token = |kid: &str, scope: &str| {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(kid.into());
        mint_with_header(&h, &claims(scope))
    };
    // First request, keys not fetched yet: a scope-less token with a broken path is 403.
    let r = get(
        srv.addr,
        &format!("/items/not-a-number?access_token={}", token("k1", "other")),
        &[],
    );
    assert_eq!(r.status, 403, "{}", r.text());
    // A new kid (published now, fetched slowly): 403 again, not 404.
    ks.set("/jwks", slow(&["k1", "k2"]));
    let r = get(
        srv.addr,
        &format!("/items/not-a-number?access_token={}", token("k2", "other")),
        &[],
    );
    assert_eq!(r.status, 403, "{}", r.text());
    // Control: the right scope reaches `Path`, which answers 404 for its own reason.
    let r = get(
        srv.addr,
        &format!(
            "/items/not-a-number?access_token={}",
            token("k2", "read:reports")
        ),
        &[],
    );
    assert_eq!(r.status, 404, "{}", r.text());
}

/// Registered with `app_data` alone, a request waiting for keys would let `Path` or `Json`
/// errors answer first; a configuration with remote keys is refused there instead: 500 on
/// every protected route, never 404/400/401, and the log names the fix.
#[test]
fn remote_keys_registered_with_app_data_only_are_refused_with_the_fix_in_the_log() {
    let logs = capture_logs();
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::RS256, "k1")]), None),
    );
    let srv = serve_app_data(jwks_config(&ks.url("/jwks"), settings()), routes);
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("k1".into());
    let ok = mint_with_header(&h, &claims("read:reports"));
    for (method, path, body) in [
        ("GET", "/me", &b""[..]),
        ("GET", "/items/not-a-number", b""),
        ("POST", "/create", b"{broken"),
    ] {
        for token in [None, Some(&ok)] {
            let auth = token.map(|t| bearer(t));
            let mut headers = vec!["Content-Type: application/json"];
            headers.extend(auth.as_deref());
            let r = request(srv.addr, method, path, &headers, body);
            assert_eq!(
                r.status,
                500,
                "{method} {path} with token {}",
                token.is_some()
            );
        }
    }
    assert!(
        !logs
            .lines_with("registered with `app_data` only: register it with `App::wrap(auth_config.clone())`")
            .is_empty(),
        "{}",
        logs.peek()
    );
    assert_eq!(
        ks.hits("/jwks"),
        0,
        "a refused configuration fetches nothing"
    );
}

/// With static keys nothing is fetched, so `app_data` alone gives the same order as `wrap`:
/// 401 before any `Path` or `Json` error, and the valid token passes.
#[test]
fn static_keys_registered_with_app_data_answer_as_with_wrap() {
    for srv in [
        serve_app_data(builder().build().unwrap(), routes),
        serve(Some(builder().build().unwrap()), routes),
    ] {
        assert_eq!(get(srv.addr, "/items/not-a-number", &[]).status, 401);
        let r = request(
            srv.addr,
            "POST",
            "/create",
            &["Content-Type: application/json"],
            b"{broken",
        );
        assert_eq!(r.status, 401);
        let t = token("read:reports");
        assert_eq!(get(srv.addr, "/items/7", &[&bearer(&t)]).text(), "7");
    }
}

/// A configuration registered by `wrap` is the one the extractors use over another one
/// registered with `app_data` on the App (outside the middleware); another one registered
/// with `app_data` closer to the route (on its scope) makes it ambiguous which one governs
/// the route, which answers 500 rather than guess (it used to take the wrapped one silently,
/// accepting a token for the App's audience where the scope's configuration names another:
/// `tests/nested_configurations.rs`).
#[actix_web::test]
async fn the_wrapped_configuration_wins_over_app_data_on_the_app_and_a_closer_one_is_refused() {
    use actix_web::test;
    let wrapped = builder().realm("wrapped").build().unwrap();
    let other = || builder().realm("other").build().unwrap();
    let app = test::init_service(
        actix_web::App::new()
            .app_data(other())
            .wrap(wrapped.clone())
            .configure(routes)
            .service(web::scope("/s").app_data(other()).configure(routes)),
    )
    .await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/me").to_request()).await;
    assert_eq!(res.status(), 401);
    let challenge = res
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(challenge.contains("realm=\"wrapped\""), "{challenge}");
    let res = test::call_service(&app, test::TestRequest::get().uri("/s/me").to_request()).await;
    assert_eq!(res.status(), 500);
    // The same configuration registered both ways is no ambiguity.
    let app = test::init_service(
        actix_web::App::new()
            .wrap(wrapped.clone())
            .service(web::scope("/s").app_data(wrapped).configure(routes)),
    )
    .await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/s/me").to_request()).await;
    assert_eq!(res.status(), 401);
}

/// Settings at their type's limit (`Duration::MAX` for "never") are clamped, never an
/// overflow: keys are fetched, kept and used; a failing provider is retried, not a panic.
#[test]
fn settings_at_their_limits_never_overflow() {
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::RS256, "k1")]), Some(u64::MAX)),
    );
    let mut s = RemoteSettings::default();
    s.default_ttl = Duration::MAX;
    s.min_ttl = Duration::MAX;
    s.max_ttl = Duration::MAX;
    s.max_stale = Duration::MAX;
    s.cooldown = Duration::MAX;
    s.retry_min = Duration::MAX;
    s.retry_max = Duration::MAX;
    let srv = serve(Some(jwks_config(&ks.url("/jwks"), s.clone())), routes);
    assert_eq!(status(&srv, &signed(Algorithm::RS256, "k1")), 200);
    assert_eq!(status(&srv, &signed(Algorithm::RS256, "k2")), 401);
    assert_eq!(status(&srv, &signed(Algorithm::RS256, "k1")), 200);
    // A provider that fails from the start: the retry is scheduled "never", not a panic.
    let down = KeyServer::start();
    down.set("/jwks", Reply::Status(500));
    let srv = serve(Some(jwks_config(&down.url("/jwks"), s)), routes);
    assert_eq!(status(&srv, &signed(Algorithm::RS256, "k1")), 503);
    assert_eq!(status(&srv, &signed(Algorithm::RS256, "k1")), 503);
}

/// An RSA JWK without `alg` (RFC 7517 makes it optional; Entra ID omits it) is bound to one
/// algorithm (RFC 8725 §3.1): the one RSA algorithm the issuer's allowlist names, else RS256.
/// So a PS256 provider that omits `alg` works once `.algorithms([PS256])` says so, and an
/// RS256 one works with the defaults; the key never verifies both.
#[test]
fn an_rsa_jwk_without_alg_takes_the_one_rsa_algorithm_the_issuer_allows() {
    let ks = KeyServer::start();
    let mut key = jwk(Algorithm::PS256, "k1");
    key.as_object_mut().unwrap().remove("alg");
    ks.set("/jwks", Reply::Json(jwks(&[key]), None));
    let pss = signed(Algorithm::PS256, "k1");
    // The same RSA key, signing RS256.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".into());
    let pkcs1 = jsonwebtoken::encode(
        &header,
        &claims("read:reports"),
        &signing_key(Algorithm::PS256),
    )
    .unwrap();

    let config = |algorithms: Option<Vec<Algorithm>>| {
        let mut b = endpoint_auth::AuthConfig::builder()
            .realm(REALM)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .jwks_url(ks.url("/jwks"));
        if let Some(algorithms) = algorithms {
            b = b.algorithms(algorithms);
        }
        b.build().unwrap()
    };
    let srv = serve(Some(config(Some(vec![Algorithm::PS256]))), routes);
    assert_eq!(status(&srv, &pss), 200);
    assert_eq!(status(&srv, &pkcs1), 401);
    // The defaults: RS256, as before.
    let srv = serve(Some(config(None)), routes);
    assert_eq!(status(&srv, &pkcs1), 200);
    assert_eq!(status(&srv, &pss), 401);
    // Several RSA algorithms allowed: no way to tell which one the key is for; RS256.
    let srv = serve(
        Some(config(Some(vec![Algorithm::RS256, Algorithm::PS256]))),
        routes,
    );
    assert_eq!(status(&srv, &pkcs1), 200);
    assert_eq!(status(&srv, &pss), 401);
}

/// An OIDC document that cannot be used (an HTML page answered 200, another issuer's) is not
/// the end of discovery: the RFC 8414 document is tried next, as when the first is absent.
/// Both unusable: the error names each.
#[test]
fn an_unusable_oidc_document_falls_back_to_rfc8414_metadata() {
    let ks = KeyServer::start();
    let issuer = ks.url("/as");
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::ES256, "k1")]), None),
    );
    let oidc = "/as/.well-known/openid-configuration";
    let rfc8414 = "/.well-known/oauth-authorization-server/as";
    ks.set(rfc8414, metadata(&issuer, &ks.url("/jwks")));
    let rt = actix_web::rt::System::new();
    for unusable in [
        Reply::Json("<html><body>Sign in</body></html>".into(), None),
        metadata(&ks.url("/other"), &ks.url("/jwks")),
    ] {
        ks.set(oidc, unusable);
        let cfg = discovery_config(&issuer);
        assert_eq!(rt.block_on(cfg.prefetch_keys()).unwrap(), 1);
    }
    ks.set(rfc8414, Reply::Status(404));
    let err = rt
        .block_on(discovery_config(&issuer).prefetch_keys())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("expected exactly") && err.contains("404"),
        "{err}"
    );
}

/// The `jwks_uri` discovery found is not kept forever: when fetching it fails, the next
/// attempt reads the discovery document again (a provider that moved its keys).
#[test]
fn a_failing_jwks_uri_is_discovered_again() {
    let ks = KeyServer::start();
    let issuer = ks.url("/tenant");
    let oidc = "/tenant/.well-known/openid-configuration";
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::RS256, "k1")]), None),
    );
    ks.set(oidc, metadata(&issuer, &ks.url("/jwks")));
    let cfg = discovery_config(&issuer);
    let rt = actix_web::rt::System::new();
    assert_eq!(rt.block_on(cfg.prefetch_keys()).unwrap(), 1);
    // The provider moves its keys.
    ks.set("/jwks", Reply::Status(404));
    ks.set(
        "/keys/v2",
        Reply::Json(
            jwks(&[jwk(Algorithm::RS256, "k1"), jwk(Algorithm::ES256, "k2")]),
            None,
        ),
    );
    ks.set(oidc, metadata(&issuer, &ks.url("/keys/v2")));
    assert!(rt.block_on(cfg.prefetch_keys()).is_err());
    assert_eq!(rt.block_on(cfg.prefetch_keys()).unwrap(), 2);
    assert_eq!(ks.hits("/keys/v2"), 1);
}
