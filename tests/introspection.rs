//! Token introspection (RFC 7662, issue 22): opaque tokens are sent to a REAL introspection
//! endpoint on 127.0.0.1 (the testing kit's `IntrospectionServer`, which authenticates its
//! client and counts requests); its answer becomes the `Principal` the handler reads, is
//! checked like a JWT's claims, is cached within bounds, and an endpoint that cannot answer
//! is 503 with `Retry-After`, never 401. Real middleware and extractors (`actix_web::test`).
mod common;

use std::time::Duration;

use actix_web::{get, test, web, App, HttpResponse};
use endpoint_auth::introspection::{ClientAuth, Introspection};
use endpoint_auth::testing::introspection::IntrospectionServer;
use endpoint_auth::testing::server::Reply;
use endpoint_auth::testing::{
    assert_insufficient_scope, assert_invalid_token, assert_unavailable, TestIssuer, TestRequestExt,
};
use endpoint_auth::{requires, AuthConfig, Principal};
use serde_json::json;

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Write reports",
}

#[requires(scope = "read:reports")]
#[get("/reports")]
async fn reports(caller: Principal) -> HttpResponse {
    let client: Option<&str> = caller.claims().get("client_id").and_then(|v| v.as_str());
    HttpResponse::Ok().body(format!(
        "{} via {} until {}",
        caller.subject().unwrap_or_default(),
        client.unwrap_or_default(),
        caller.expires_at()
    ))
}

#[requires(scope = "write:reports")]
#[get("/reports/edit")]
async fn edit_reports() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[requires(scope = "read:reports")]
#[get("/reports/{id}")]
async fn report(id: web::Path<u64>) -> HttpResponse {
    HttpResponse::Ok().body(id.to_string())
}

const CLIENT: &str = "reports-api";
const SECRET: &str = "introspection s3cret/+=";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An active answer for a reader, as an authorization server gives it.
fn active(issuer: &TestIssuer, sub: &str, exp: u64) -> serde_json::Value {
    json!({
        "active": true,
        "iss": issuer.issuer_url(),
        "aud": issuer.audience_name(),
        "sub": sub,
        "client_id": "mobile-app",
        "scope": "read:reports profile",
        "exp": exp,
        "token_type": "Bearer",
    })
}

fn introspection(server: &IntrospectionServer) -> Introspection {
    Introspection::new(server.url(), CLIENT, SECRET)
}

macro_rules! app {
    ($config:expr) => {
        test::init_service(
            App::new()
                .wrap($config)
                .service(reports)
                .service(edit_reports)
                .service(report),
        )
        .await
    };
}

macro_rules! get {
    ($app:expr, $path:expr, $token:expr) => {
        test::call_service(
            $app,
            test::TestRequest::get()
                .uri($path)
                .bearer($token)
                .to_request(),
        )
        .await
    };
}

fn config(issuer: &TestIssuer, introspection: Introspection) -> AuthConfig {
    issuer
        .config()
        .introspection(introspection)
        .build()
        .unwrap()
}

#[actix_web::test]
async fn an_active_opaque_token_serves_the_handler_with_its_claims() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    let exp = now() + 300;
    server.set("opaque-alice", active(&issuer, "alice", exp));
    let app = app!(config(&issuer, introspection(&server)));

    let r = get!(&app, "/reports", "opaque-alice");
    assert_eq!(r.status(), 200);
    assert_eq!(
        test::read_body(r).await,
        format!("alice via mobile-app until {exp}")
    );
    assert_eq!(server.hits(), 1);
    assert_eq!(server.basic_hits(), 1, "client_secret_basic is the default");
}

#[actix_web::test]
async fn jwts_are_still_verified_locally_without_asking_the_endpoint() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    let app = app!(config(&issuer, introspection(&server)));
    let jwt = issuer.token().scopes(["read:reports"]).sign();
    assert_eq!(get!(&app, "/reports", jwt.as_str()).status(), 200);
    assert_eq!(server.hits(), 0);
}

#[actix_web::test]
async fn an_inactive_token_is_401_invalid_token_saying_it_is_not_active() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    server.set("opaque-7f3a9c", json!({ "active": false }));
    let app = app!(config(&issuer, introspection(&server)));

    for token in ["opaque-7f3a9c", "never-issued"] {
        let challenge = assert_invalid_token(get!(&app, "/reports", token));
        let description = challenge.param("error_description").unwrap();
        assert!(description.contains("not active"), "{description}");
        assert!(!description.contains(token), "the token is never echoed");
    }
    assert_eq!(server.hits(), 2);
}

#[actix_web::test]
async fn a_response_for_another_audience_or_issuer_or_already_expired_is_401() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    let mut other_audience = active(&issuer, "alice", now() + 300);
    other_audience["aud"] = json!("billing-api");
    server.set("for-billing", other_audience);
    let mut other_issuer = active(&issuer, "alice", now() + 300);
    other_issuer["iss"] = json!("https://elsewhere.example");
    server.set("from-elsewhere", other_issuer);
    server.set("expired", active(&issuer, "alice", now() - 3600));
    let app = app!(config(&issuer, introspection(&server)));

    for token in ["for-billing", "from-elsewhere", "expired"] {
        assert_invalid_token(get!(&app, "/reports", token));
    }
}

#[actix_web::test]
async fn scopes_of_the_response_feed_the_policy() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    server.set("reader", active(&issuer, "alice", now() + 300));
    let app = app!(config(&issuer, introspection(&server)));
    assert_insufficient_scope(get!(&app, "/reports/edit", "reader"), "write:reports");
}

#[actix_web::test]
async fn a_slow_endpoint_is_503_after_the_configured_timeout() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    server.set("opaque-alice", active(&issuer, "alice", now() + 300));
    server.delay(Duration::from_secs(3));
    let app = app!(config(
        &issuer,
        introspection(&server).timeout(Duration::from_millis(300))
    ));
    let started = std::time::Instant::now();
    let retry = assert_unavailable(get!(&app, "/reports", "opaque-alice"));
    assert!(retry >= 1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered at the timeout, not when the endpoint did"
    );
}

#[actix_web::test]
async fn an_endpoint_that_is_down_or_failing_is_503_with_retry_after() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    server.set("opaque-alice", active(&issuer, "alice", now() + 300));
    let app = app!(config(
        &issuer,
        introspection(&server).retry_after(Duration::from_secs(7))
    ));

    server.fail_with(Some(500));
    assert_eq!(
        assert_unavailable(get!(&app, "/reports", "opaque-alice")),
        7
    );
    server.fail_with(Some(503));
    assert_eq!(
        assert_unavailable(get!(&app, "/reports", "opaque-alice")),
        7
    );
    // Back up: the failures were not cached.
    server.fail_with(None);
    assert_eq!(get!(&app, "/reports", "opaque-alice").status(), 200);
    // Gone (connection refused).
    server.stop();
    assert_unavailable(get!(&app, "/reports", "fresh-token"));
}

#[actix_web::test]
async fn an_active_answer_is_reused_within_the_cache_window() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    server.set("opaque-alice", active(&issuer, "alice", now() + 300));
    let app = app!(config(&issuer, introspection(&server)));
    for _ in 0..3 {
        assert_eq!(get!(&app, "/reports", "opaque-alice").status(), 200);
    }
    assert_eq!(
        server.hits(),
        1,
        "the second and third request were answered from the cache"
    );

    // With the cache window set to zero, every request asks.
    let uncached = app!(config(
        &issuer,
        introspection(&server).cache_for(Duration::ZERO)
    ));
    for _ in 0..2 {
        assert_eq!(get!(&uncached, "/reports", "opaque-alice").status(), 200);
    }
    assert_eq!(server.hits(), 3);
}

#[actix_web::test]
async fn an_inactive_answer_is_asked_again_after_its_short_window() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    server.set("opaque-alice", json!({ "active": false }));
    let app = app!(config(
        &issuer,
        introspection(&server).inactive_cache_for(Duration::from_millis(400))
    ));
    assert_invalid_token(get!(&app, "/reports", "opaque-alice"));
    assert_invalid_token(get!(&app, "/reports", "opaque-alice"));
    assert_eq!(server.hits(), 1, "kept for its short window");

    // Now active (say, a clock skew at the server was fixed): seen once the window is over.
    server.set("opaque-alice", active(&issuer, "alice", now() + 300));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(get!(&app, "/reports", "opaque-alice").status(), 200);
    assert_eq!(server.hits(), 2);
}

#[actix_web::test]
async fn the_cache_never_keeps_an_answer_past_its_exp() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    server.set("short-lived", active(&issuer, "alice", now() + 2));
    let app = app!(issuer
        .config()
        .leeway(Duration::ZERO)
        .introspection(introspection(&server).cache_for(Duration::from_secs(60)))
        .build()
        .unwrap());
    assert_eq!(get!(&app, "/reports", "short-lived").status(), 200);
    assert_eq!(get!(&app, "/reports", "short-lived").status(), 200);
    assert_eq!(server.hits(), 1);

    std::thread::sleep(Duration::from_millis(3100));
    // Past `exp`: asked again, and the answer (still the same, now expired) is refused.
    assert_invalid_token(get!(&app, "/reports", "short-lived"));
    assert_eq!(server.hits(), 2);
}

#[actix_web::test]
async fn client_secret_post_is_accepted_too() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    server.set("opaque-alice", active(&issuer, "alice", now() + 300));
    let app = app!(config(
        &issuer,
        introspection(&server).client_auth(ClientAuth::ClientSecretPost)
    ));
    assert_eq!(get!(&app, "/reports", "opaque-alice").status(), 200);
    assert_eq!((server.post_hits(), server.basic_hits()), (1, 0));
}

#[actix_web::test]
async fn a_wrong_client_secret_is_503_for_the_caller_not_401() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    server.set("opaque-alice", active(&issuer, "alice", now() + 300));
    for auth in [ClientAuth::ClientSecretBasic, ClientAuth::ClientSecretPost] {
        let app = app!(config(
            &issuer,
            Introspection::new(server.url(), CLIENT, "wrong").client_auth(auth)
        ));
        // The service's misconfiguration: the caller's token is not at fault.
        assert_unavailable(get!(&app, "/reports", "opaque-alice"));
    }
    assert_eq!(server.refused_hits(), 2);
}

#[actix_web::test]
async fn the_endpoint_is_found_through_oidc_discovery() {
    let issuer = TestIssuer::new(SCOPES).serve();
    let server = IntrospectionServer::start(CLIENT, SECRET);
    server.set("opaque-alice", active(&issuer, "alice", now() + 300));
    let keys = issuer.server();
    let discovery = json!({
        "issuer": issuer.issuer_url(),
        "jwks_uri": keys.url("/jwks.json"),
        "introspection_endpoint": server.url(),
    });
    keys.set(
        "/.well-known/openid-configuration",
        Reply::Json(discovery.to_string(), None),
    );
    let app = app!(config(&issuer, Introspection::discovered(CLIENT, SECRET)));
    assert_eq!(get!(&app, "/reports", "opaque-alice").status(), 200);
    assert_eq!(server.hits(), 1);
    // JWTs of the same issuer still verify with the discovered keys.
    let jwt = issuer.token().scopes(["read:reports"]).sign();
    assert_eq!(get!(&app, "/reports", jwt.as_str()).status(), 200);
}

#[actix_web::test]
async fn the_client_secret_never_appears_in_debug_output() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    let settings = introspection(&server);
    assert!(!format!("{settings:?}").contains("s3cret"));
    let config = config(&issuer, settings);
    assert!(!format!("{config:?}").contains("s3cret"));
}

#[actix_web::test]
async fn with_introspect_jwts_a_verified_jwt_revoked_at_the_server_is_401() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    let jwt = issuer
        .token()
        .scopes(["read:reports"])
        .subject("bob")
        .sign();
    server.set(jwt.as_str(), active(&issuer, "bob", now() + 300));
    let app = app!(config(
        &issuer,
        introspection(&server)
            .introspect_jwts(true)
            .inactive_cache_for(Duration::ZERO)
            .cache_for(Duration::from_millis(300))
    ));
    let r = get!(&app, "/reports", jwt.as_str());
    assert_eq!(r.status(), 200);
    // The handler reads the JWT's own claims (the answer's client_id is not used).
    let body = String::from_utf8(test::read_body(r).await.to_vec()).unwrap();
    assert!(
        body.starts_with("bob via ") && !body.contains("mobile-app"),
        "{body}"
    );
    // A token-cache hit of the JWT is still confirmed (here from the answer cache).
    assert_eq!(get!(&app, "/reports", jwt.as_str()).status(), 200);
    assert_eq!(server.hits(), 1);

    // Revoked at the authorization server: seen once the short positive window is over.
    server.set(jwt.as_str(), json!({ "active": false }));
    std::thread::sleep(Duration::from_millis(400));
    let challenge = assert_invalid_token(get!(&app, "/reports", jwt.as_str()));
    assert!(challenge
        .param("error_description")
        .unwrap()
        .contains("not active"));
    assert_eq!(server.hits(), 2);

    // The endpoint down: 503 for JWTs too, not a silent pass.
    server.fail_with(Some(502));
    assert_unavailable(get!(&app, "/reports", jwt.as_str()));
}

#[actix_web::test]
async fn neither_tokens_nor_the_client_secret_reach_the_logs() {
    let captured = common::capture_logs();
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    let token = "opaque-logcheck-91f2c7";
    server.set(token, active(&issuer, "alice", now() + 300));
    // Refused client credentials (warned about), then an outage, then inactive and active.
    let wrong = app!(config(
        &issuer,
        Introspection::new(server.url(), CLIENT, "log-check-secret-77")
    ));
    assert_unavailable(get!(&wrong, "/reports", token));
    let app = app!(config(&issuer, introspection(&server)));
    server.fail_with(Some(500));
    assert_unavailable(get!(&app, "/reports", token));
    server.fail_with(None);
    assert_invalid_token(get!(&app, "/reports", "opaque-logcheck-inactive"));
    assert_eq!(get!(&app, "/reports", token).status(), 200);

    let logs = captured.take();
    assert!(
        logs.contains("refused the service's client credentials"),
        "the misconfiguration is logged: {logs}"
    );
    for secret in [
        token,
        "opaque-logcheck-inactive",
        "log-check-secret-77",
        SECRET,
    ] {
        assert!(!logs.contains(secret), "{secret:?} in the logs: {logs}");
    }
}

/// Introspection answers before routing: an inactive token on a path the handler's `Path`
/// extractor would refuse (400/404) is still 401, even while the endpoint takes its time.
#[actix_web::test]
async fn introspection_answers_before_any_other_extractor() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    server.delay(Duration::from_millis(100));
    let app = app!(config(&issuer, introspection(&server)));
    assert_invalid_token(get!(&app, "/reports/not-a-number", "opaque-inactive"));
    server.set("opaque-alice", active(&issuer, "alice", now() + 300));
    assert_eq!(get!(&app, "/reports/42", "opaque-alice").status(), 200);
}

/// Registered with `app_data` alone, introspection could lose the race to other
/// extractors: such a configuration is refused (500), as for remote keys.
#[actix_web::test]
async fn a_configuration_with_introspection_registered_as_app_data_only_is_refused() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    server.set("opaque-alice", active(&issuer, "alice", now() + 300));
    let app = test::init_service(
        App::new()
            .app_data(config(&issuer, introspection(&server)))
            .service(reports),
    )
    .await;
    assert_eq!(get!(&app, "/reports", "opaque-alice").status(), 500);
    assert_eq!(server.hits(), 0);
}

#[actix_web::test]
async fn an_opaque_token_over_the_size_limit_is_401_without_asking_the_endpoint() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    let long = "o".repeat(200);
    server.set(&long, active(&issuer, "alice", now() + 300));
    server.set("opaque-alice", active(&issuer, "alice", now() + 300));
    let config = issuer
        .config()
        .max_token_bytes(100)
        .introspection(introspection(&server))
        .build()
        .unwrap();
    let app = app!(config);

    let challenge = assert_invalid_token(get!(&app, "/reports", long.as_str()));
    let description = challenge.param("error_description").unwrap();
    assert!(description.contains("too large"), "{description}");
    assert_eq!(
        server.hits(),
        0,
        "the caller's bytes never reach the endpoint"
    );
    // Under the limit, the endpoint still decides.
    assert_eq!(get!(&app, "/reports", "opaque-alice").status(), 200);
    assert_eq!(server.hits(), 1);
}

/// A discovery document without an `introspection_endpoint` (or a provider that is down) is
/// 503 for opaque tokens, and a flood of them never becomes a flood of discovery fetches:
/// the document is read once, and retried by the background task's backoff only.
#[actix_web::test]
async fn opaque_tokens_without_a_discovered_endpoint_cause_no_fetch_each() {
    let issuer = TestIssuer::new(SCOPES).serve();
    let keys = issuer.server();
    let discovery = json!({
        "issuer": issuer.issuer_url(),
        "jwks_uri": keys.url("/jwks.json"),
    });
    keys.set(
        "/.well-known/openid-configuration",
        Reply::Json(discovery.to_string(), None),
    );
    let app = app!(config(&issuer, Introspection::discovered(CLIENT, SECRET)));
    let jwt = issuer.token().scopes(["read:reports"]).sign();
    assert_eq!(get!(&app, "/reports", jwt.as_str()).status(), 200);
    let read = keys.total_hits();
    for i in 0..20 {
        let token = format!("opaque-{i}");
        assert_unavailable(get!(&app, "/reports", token.as_str()));
    }
    assert_eq!(
        keys.total_hits(),
        read,
        "the document was read once already"
    );
}

/// An active answer for something that is not a bearer access token (a refresh token an
/// authorization server such as Ory Hydra marks with `token_use`; a DPoP-bound token, RFC
/// 9449 §6.2) is 401: a stolen refresh token does not open the API.
#[actix_web::test]
async fn an_active_refresh_or_dpop_bound_token_is_401() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    let mut refresh = active(&issuer, "alice", now() + 300);
    refresh["token_use"] = json!("refresh_token");
    server.set("opaque-refresh", refresh);
    let mut dpop = active(&issuer, "alice", now() + 300);
    dpop["token_type"] = json!("DPoP");
    dpop["cnf"] = json!({ "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" });
    server.set("opaque-dpop", dpop);
    let mut access = active(&issuer, "alice", now() + 300);
    access["token_use"] = json!("access_token");
    server.set("opaque-access", access);
    let app = app!(config(&issuer, introspection(&server)));
    for token in ["opaque-refresh", "opaque-dpop"] {
        let challenge = assert_invalid_token(get!(&app, "/reports", token));
        let description = challenge.param("error_description").unwrap();
        assert!(
            description.contains("not a bearer access token"),
            "{description}"
        );
    }
    assert_eq!(get!(&app, "/reports", "opaque-access").status(), 200);
}

/// At most `max_concurrent` introspection requests are under way at once (default 64): a
/// flood of made-up opaque tokens cannot become a flood of requests to the authorization
/// server (each carrying the service's credentials). Past the limit a request is 503 +
/// `Retry-After` at once, without asking; a cached answer needs no request and still serves.
#[actix_web::test]
async fn introspection_requests_under_way_are_bounded() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    server.set("opaque-alice", active(&issuer, "alice", now() + 300));
    server.set("opaque-bob", active(&issuer, "bob", now() + 300));
    let app = app!(config(&issuer, introspection(&server).max_concurrent(1)));
    assert_eq!(get!(&app, "/reports", "opaque-alice").status(), 200);
    server.delay(Duration::from_millis(400));
    let started = std::time::Instant::now();
    let (slow, refused, cached) = tokio::join!(
        async { get!(&app, "/reports", "opaque-bob") },
        async {
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
            let r = get!(&app, "/reports", "made-up-1");
            (r, started.elapsed())
        },
        async {
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
            get!(&app, "/reports", "opaque-alice")
        },
    );
    assert_eq!(slow.status(), 200);
    let (refused, at) = refused;
    assert_unavailable(refused);
    assert!(
        at < Duration::from_millis(350),
        "refused at {at:?}, not at once"
    );
    assert_eq!(cached.status(), 200);
    assert_eq!(
        server.hits(),
        2,
        "alice once, bob once; the made-up token never asked"
    );
}

/// A response that names a member twice (`{"active":false,"active":true}`) has no one
/// meaning: it is no introspection response, 503 like any other, whether or not it has `exp`.
#[actix_web::test]
async fn a_response_with_a_member_named_twice_is_no_answer() {
    let issuer = TestIssuer::new(SCOPES);
    let server = IntrospectionServer::start(CLIENT, SECRET);
    let app = app!(config(&issuer, introspection(&server)));
    let iss = issuer.issuer_url();
    let aud = issuer.audience_name();
    let exp = now() + 300;
    for (token, raw) in [
        (
            "twice-no-exp",
            format!(
                r#"{{"active":false,"active":true,"iss":"{iss}","aud":"{aud}","scope":"read:reports"}}"#
            ),
        ),
        (
            "twice-with-exp",
            format!(
                r#"{{"active":true,"iss":"{iss}","aud":"{aud}","scope":"read:reports","exp":{exp},"sub":"a","sub":"b"}}"#
            ),
        ),
    ] {
        server.set_raw(token, &raw);
        assert_unavailable(get!(&app, "/reports", token));
    }
}
