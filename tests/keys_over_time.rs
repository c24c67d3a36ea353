//! Keys over time (CONFORMANCE.md "Keys over time"): a service starts while its provider is
//! down and recovers on its own; a rotated key is accepted on its first request while kid
//! floods stay throttled; every fetch hop obeys the URL rule; unusable keys never count as
//! known; only tokens that could be ours cause a fetch. A real key server on 127.0.0.1.

mod common;

use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::keyserver::{jwk, jwks, jwks_config, KeyServer, Reply};
use common::*;
use endpoint_auth::{Algorithm, AuthConfig, Principal, RemoteSettings};
use jsonwebtoken::Header;
use serde_json::json;

async fn me(_p: Principal) -> HttpResponse {
    HttpResponse::Ok().finish()
}
async fn health() -> HttpResponse {
    HttpResponse::Ok().body("up")
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me))
        .route("/health", web::get().to(health));
}

/// A token signed by `alg`'s test key, announcing `kid`, with these claims.
fn signed_with(alg: Algorithm, kid: &str, claims: &serde_json::Value) -> String {
    let mut h = Header::new(alg);
    h.kid = Some(kid.into());
    mint_with_header(&h, claims)
}

fn signed(alg: Algorithm, kid: &str) -> String {
    signed_with(alg, kid, &claims("read:reports"))
}

/// Serves `routes` with the JWKS at `ks`'s `/jwks` and the default settings, registered with
/// `app_data` (nothing is fetched before a request needs keys).
fn serve_jwks(ks: &KeyServer) -> TestServer {
    serve(
        Some(jwks_config(&ks.url("/jwks"), RemoteSettings::default())),
        routes,
    )
}

/// The status of `GET /me` with `token`.
fn status(srv: &TestServer, token: &str) -> u16 {
    get(srv.addr, "/me", &[&bearer(token)]).status
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The 503 of a protected route while there are no keys: no challenge (the token may be
/// fine), a `Retry-After`, `no-store`; answered without waiting on the provider.
fn assert_unavailable(srv: &TestServer, token: &str) {
    let started = Instant::now();
    let r = get(srv.addr, "/me", &[&bearer(token)]);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "waited {:?} for a provider known to be down",
        started.elapsed()
    );
    // The kit checks the contract's 503: status, Retry-After, no challenge, the problem body.
    let retry = endpoint_auth::testing::assert_unavailable(r.raw());
    assert!((1..=10).contains(&retry), "Retry-After {retry}");
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

enum Outage {
    Status500,
    Refused,
    Hang,
}

/// Starts (with the middleware, as services register it) while the provider is down in one
/// of three ways: public routes serve, protected ones answer 503 at once after the first
/// failed attempt, readiness is false, one log line per attempt; once the provider is back,
/// protected routes recover without a restart.
fn starts_during_an_outage_and_recovers(outage: Outage, settings: RemoteSettings) {
    let logs = capture_logs();
    let ks = KeyServer::start();
    let addr = ks.addr();
    let good = Reply::Json(jwks(&[jwk(Algorithm::ES256, "k1")]), None);
    match outage {
        Outage::Status500 => ks.set("/jwks", Reply::Status(500)),
        Outage::Refused => ks.stop(),
        Outage::Hang => ks.set("/jwks", Reply::Hang),
    }
    let config = jwks_config(&format!("http://{addr}/jwks"), settings.clone());
    let probe = config.clone();
    let srv = serve_wrapped(config, routes);
    let token = signed(Algorithm::ES256, "k1");
    // This test's lines in the binary's shared log: those naming its key server.
    let ours = addr.to_string();
    let failures = || {
        logs.lines_with(&ours)
            .iter()
            .filter(|l| l.contains("signing key refresh failed"))
            .count() as u64
    };

    assert_eq!(get(srv.addr, "/health", &[]).status, 200);
    assert!(!probe.keys_ready());
    let remote = probe.remote_keys().unwrap();
    // The first attempt started with the workers; once it has failed, nothing waits.
    wait_until("a failed first fetch", settings.timeout * 3, || {
        failures() > 0
    });
    for _ in 0..20 {
        assert_unavailable(&srv, &token);
        assert_eq!(get(srv.addr, "/health", &[]).status, 200);
    }
    // Requests without a token do not depend on keys.
    assert_eq!(get(srv.addr, "/me", &[]).status, 401);
    assert!(!probe.keys_ready());
    let attempts = remote.fetch_count();
    assert!(
        attempts <= 4,
        "{attempts} fetches in the outage's first seconds"
    );

    // The provider is back: the background retries find it.
    let _back = match outage {
        Outage::Refused => {
            let ks = KeyServer::start_on(addr);
            ks.set("/jwks", good);
            Some(ks)
        }
        _ => {
            ks.set("/jwks", good);
            None
        }
    };
    wait_until(
        "recovery",
        settings.retry_max + settings.timeout * 2,
        || probe.keys_ready(),
    );
    assert_eq!(get(srv.addr, "/me", &[&bearer(&token)]).status, 200);
    // One warning per failed attempt (all but the last, which succeeded), none per request.
    let log = logs.lines_with(&ours).join("\n");
    assert_eq!(failures(), remote.fetch_count() - 1, "{log}");
    assert!(log.contains("signing keys fetched again"), "{log}");
}

#[test]
fn starting_while_the_provider_answers_500_serves_public_routes_and_recovers() {
    starts_during_an_outage_and_recovers(Outage::Status500, RemoteSettings::default());
}

#[test]
fn starting_while_the_provider_refuses_connections_serves_public_routes_and_recovers() {
    starts_during_an_outage_and_recovers(Outage::Refused, RemoteSettings::default());
}

#[test]
fn starting_while_the_provider_hangs_serves_public_routes_and_recovers() {
    let mut settings = RemoteSettings::default();
    // The hang costs each attempt its whole timeout; keep the test short.
    settings.timeout = Duration::from_secs(1);
    starts_during_an_outage_and_recovers(Outage::Hang, settings);
}

#[test]
fn prefetch_still_fails_fast_for_services_that_want_it() {
    let ks = KeyServer::start();
    let url = ks.url("/jwks");
    ks.stop();
    let config = jwks_config(&url, RemoteSettings::default());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt.block_on(config.prefetch_keys()).unwrap_err();
    assert!(err.to_string().contains(&url), "{err}");
}

#[test]
fn a_flood_of_unknown_kids_stays_throttled_to_one_fetch_per_cooldown() {
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::RS256, "k1")]), None),
    );
    let mut settings = RemoteSettings::default();
    settings.cooldown = Duration::from_millis(500);
    let srv = serve(
        Some(jwks_config(&ks.url("/jwks"), settings.clone())),
        routes,
    );
    assert_eq!(status(&srv, &signed(Algorithm::RS256, "k1")), 200);
    let started = Instant::now();
    let mut i = 0;
    while started.elapsed() < Duration::from_secs(2) {
        let kid = format!("made-up-{i}");
        i += 1;
        let r = get(srv.addr, "/me", &[&bearer(&signed(Algorithm::RS256, &kid))]);
        assert_eq!(r.status, 401);
    }
    let elapsed = started.elapsed();
    let periods = (elapsed.as_millis() / settings.cooldown.as_millis()) as usize + 1;
    let limit = 1 + settings.unknown_kid_burst as usize + periods;
    assert!(
        ks.hits("/jwks") <= limit,
        "{} fetches for {i} made-up kids in {elapsed:?} (limit {limit})",
        ks.hits("/jwks")
    );
    assert!(i > 50, "only {i} requests");
}

#[test]
fn a_key_without_kid_does_not_make_every_kid_known() {
    let ks = KeyServer::start();
    let mut anonymous = jwk(Algorithm::ES256, "x");
    anonymous.as_object_mut().unwrap().remove("kid");
    ks.set("/jwks", Reply::Json(jwks(&[anonymous.clone()]), None));
    let srv = serve_jwks(&ks);
    // A token with a kid verifies against a key without one.
    assert_eq!(status(&srv, &signed(Algorithm::ES256, "any")), 200);
    let fetched = ks.hits("/jwks");
    // The provider publishes a key with a kid and signs with it: accepted at once.
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[anonymous, jwk(Algorithm::EdDSA, "k2")]), None),
    );
    assert_eq!(status(&srv, &signed(Algorithm::EdDSA, "k2")), 200);
    assert_eq!(ks.hits("/jwks"), fetched + 1);
}

#[test]
fn a_redirect_to_plain_http_on_another_host_is_refused() {
    let logs = capture_logs();
    let ks = KeyServer::start();
    ks.set(
        "/keys",
        Reply::Json(jwks(&[jwk(Algorithm::RS256, "k1")]), None),
    );
    // To a name that is not loopback: refused before any connection is attempted.
    ks.set(
        "/jwks",
        Reply::Redirect(format!(
            "http://keys.example.invalid:{}/keys",
            ks.addr().port()
        )),
    );
    let srv = serve_jwks(&ks);
    let r = get(srv.addr, "/me", &[&bearer(&signed(Algorithm::RS256, "k1"))]);
    assert_eq!(r.status, 503);
    assert_eq!(ks.hits("/keys"), 0);
    let log = logs.lines_with(&ks.url("/jwks")).join("\n");
    assert!(
        log.contains("redirect to http://keys.example.invalid"),
        "{log}"
    );

    // A redirect that obeys the rule (loopback http) is followed.
    let ks2 = KeyServer::start();
    ks2.set("/jwks", Reply::Redirect(ks.url("/keys")));
    let srv = serve_jwks(&ks2);
    assert_eq!(status(&srv, &signed(Algorithm::RS256, "k1")), 200);
    assert_eq!(ks.hits("/keys"), 1);
}

#[test]
fn weak_symmetric_and_non_verify_keys_in_a_remote_set_are_skipped_and_never_known() {
    let logs = capture_logs();
    let ks = KeyServer::start();
    // A 1024-bit RSA modulus (top bit set), a symmetric key, and one for encryption only.
    let mut modulus = vec![0xc5u8; 128];
    modulus[127] = 0x01;
    let weak = json!({"kty": "RSA", "kid": "weak", "alg": "RS256",
        "n": URL_SAFE_NO_PAD.encode(&modulus), "e": "AQAB"});
    let oct = json!({"kty": "oct", "kid": "hmac", "alg": "HS256",
        "k": URL_SAFE_NO_PAD.encode([7u8; 32])});
    let mut encrypt_only = jwk(Algorithm::RS256, "enc-ops");
    encrypt_only["key_ops"] = json!(["encrypt", "wrapKey"]);
    ks.set(
        "/jwks",
        Reply::Json(
            jwks(&[weak, oct, encrypt_only, jwk(Algorithm::ES256, "good")]),
            None,
        ),
    );
    let srv = serve_jwks(&ks);
    assert_eq!(status(&srv, &signed(Algorithm::ES256, "good")), 200);
    // The skipped keys' kids are this test's own.
    let log = logs.peek();
    for needle in [
        "\"weak\"",
        "1024-bit modulus is below the minimum of 2048 bits",
        "\"hmac\"",
        "symmetric (oct) key",
        "\"enc-ops\"",
        "does not include \"verify\"",
    ] {
        assert!(log.contains(needle), "missing {needle:?} in:\n{log}");
    }
    // Their kids are unknown: each costs a refresh (from the unknown-kid budget), then 401.
    for (n, kid) in ["weak", "hmac", "enc-ops"].into_iter().enumerate() {
        let r = get(srv.addr, "/me", &[&bearer(&signed(Algorithm::RS256, kid))]);
        assert_eq!(r.status, 401, "{kid}");
        assert_eq!(ks.hits("/jwks"), 2 + n, "{kid} made a refresh");
    }
}

#[test]
fn tokens_that_could_not_be_ours_never_cause_a_fetch() {
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::RS256, "k1")]), None),
    );
    let foreign = |edit: &dyn Fn(&mut serde_json::Value), kid: &str| {
        let mut c = claims("read:reports");
        edit(&mut c);
        signed_with(Algorithm::RS256, kid, &c)
    };
    let cases = [
        foreign(&|c| c["iss"] = json!("https://evil.example"), "k1"),
        foreign(&|c| c["aud"] = json!("another-api"), "k1"),
        foreign(&|c| c["exp"] = json!(now() - 3600), "k1"),
        foreign(&|c| c["nbf"] = json!(now() + 3600), "k1"),
        foreign(&|c| drop(c.as_object_mut().unwrap().remove("iss")), "k1"),
    ];
    // The startup fetch (the workers start one) takes 1.5 s: meanwhile there are no keys.
    ks.set(
        "/jwks",
        Reply::Slow(
            Duration::from_millis(1500),
            Box::new(Reply::Json(jwks(&[jwk(Algorithm::RS256, "k1")]), None)),
        ),
    );
    let srv = serve_jwks(&ks);
    wait_until("the startup fetch", Duration::from_secs(5), || {
        ks.hits("/jwks") == 1
    });
    // Before any keys are there: 401 at once (neither 503 nor a wait for the fetch), and no
    // fetch beyond the one under way.
    let started = Instant::now();
    for t in &cases {
        let r = get(srv.addr, "/me", &[&bearer(t)]);
        assert_eq!(r.status, 401);
        assert!(r.challenge().contains("error=\"invalid_token\""));
    }
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "the refusals waited for the key fetch"
    );
    assert_eq!(ks.hits("/jwks"), 1, "only the startup fetch");
    // With keys, made-up kids on such tokens cause none either.
    assert_eq!(status(&srv, &signed(Algorithm::RS256, "k1")), 200);
    assert_eq!(ks.hits("/jwks"), 1);
    for i in 0..20 {
        let kid = format!("made-up-{i}");
        let t = foreign(&|c| c["iss"] = json!("https://evil.example"), &kid);
        assert_eq!(status(&srv, &t), 401);
    }
    assert_eq!(ks.hits("/jwks"), 1);

    // The same through the middleware, which decides on fetches before routing.
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::RS256, "k1")]), None),
    );
    let config: AuthConfig = jwks_config(&ks.url("/jwks"), RemoteSettings::default());
    let srv = serve_wrapped(config, routes);
    wait_until("the startup fetch", Duration::from_secs(5), || {
        ks.hits("/jwks") == 1
    });
    for i in 0..20 {
        let t = foreign(
            &|c| c["iss"] = json!("https://evil.example"),
            &format!("x-{i}"),
        );
        assert_eq!(status(&srv, &t), 401);
    }
    assert_eq!(ks.hits("/jwks"), 1);
}

#[test]
fn a_new_kid_while_the_provider_fails_is_503_on_every_request_and_known_kids_still_serve() {
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::RS256, "k1")]), None),
    );
    let srv = serve_jwks(&ks);
    let known = signed(Algorithm::RS256, "k1");
    assert_eq!(status(&srv, &known), 200);
    // The provider rotates to k2 and fails at the same time: the refresh a k2 token causes
    // fails, so whether k2 is genuine cannot be known yet. Every such request, the first
    // included, is 503 + Retry-After (never a 401 that tells the client its token is bad).
    ks.set("/jwks", Reply::Status(500));
    let new = signed(Algorithm::ES256, "k2");
    let before = ks.hits("/jwks");
    for _ in 0..3 {
        assert_unavailable(&srv, &new);
    }
    assert_eq!(
        ks.hits("/jwks"),
        before + 1,
        "one refresh, then the backoff"
    );
    // The keys at hand still serve the tokens they verify.
    assert_eq!(status(&srv, &known), 200);
}
