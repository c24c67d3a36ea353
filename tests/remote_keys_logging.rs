//! Remote key problems are logged clearly (issue 4, acceptance 6), and refresh-ahead renews
//! keys in the background without making a request wait.

mod common;

use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};
use common::keyserver::{jwk, jwks_config, KeyServer, Reply};
use common::*;
use endpoint_auth::{Algorithm, Principal, RemoteSettings};
use jsonwebtoken::Header;
use serde_json::json;

async fn me(_p: Principal) -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me));
}

fn signed(alg: Algorithm, kid: &str) -> String {
    let mut h = Header::new(alg);
    h.kid = Some(kid.into());
    mint_with_header(&h, &claims("read:reports"))
}

#[test]
fn unusable_keys_and_failed_refreshes_are_logged_and_refresh_ahead_does_not_block() {
    let logs = capture_logs();

    // 1. A partially unusable JWKS: each skipped key is named with its reason.
    let ks = KeyServer::start();
    let partial = json!({ "keys": [
        {"kty": "RSA", "use": "enc", "kid": "enc-key", "n": "AQAB", "e": "AQAB"},
        {"kty": "EC", "crv": "P-521", "kid": "p521-key", "x": "AA", "y": "AA"},
        jwk(Algorithm::ES256, "good"),
    ]});
    ks.set("/jwks", Reply::Json(partial.to_string(), Some(4)));
    let mut s = RemoteSettings::default();
    s.min_ttl = Duration::from_secs(4);
    let srv = serve(Some(jwks_config(&ks.url("/jwks"), s)), routes);
    let token = signed(Algorithm::ES256, "good");
    assert_eq!(get(srv.addr, "/me", &[&bearer(&token)]).status, 200);
    let log = logs.take();
    for needle in [
        "skipping unusable JWK",
        "enc-key",
        "key use \"enc\" is not \"sig\"",
        "p521-key",
        "unsupported EC curve",
    ] {
        assert!(log.contains(needle), "missing {needle:?} in:\n{log}");
    }

    // 2. Refresh-ahead: in the last fifth of the 4 s lifetime the keys are refreshed in the
    //    background, with no request needed; with a slow key server, requests meanwhile
    //    still answer at once.
    ks.set(
        "/jwks",
        Reply::Slow(
            Duration::from_millis(800),
            Box::new(Reply::Json(partial.to_string(), Some(4))),
        ),
    );
    let before = ks.hits("/jwks");
    let deadline = Instant::now() + Duration::from_secs(10);
    while ks.hits("/jwks") == before {
        assert!(Instant::now() < deadline, "no background refresh");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The refresh is in flight (the server sleeps 800 ms before answering).
    let started = Instant::now();
    assert_eq!(get(srv.addr, "/me", &[&bearer(&token)]).status, 200);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "request waited {:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(ks.hits("/jwks"), before + 1, "one background refresh");
    logs.take();

    // 3. A garbage document on refresh: a clear warning naming the URL and the problem, and
    //    the stale keys keep serving.
    ks.set("/jwks", Reply::Json("<html>oops</html>".into(), Some(4)));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut log = String::new();
    while !log.contains("signing key refresh failed") {
        assert!(Instant::now() < deadline, "no failed refresh logged: {log}");
        std::thread::sleep(Duration::from_millis(50));
        log.push_str(&logs.take());
    }
    assert_eq!(
        get(srv.addr, "/me", &[&bearer(&token)]).status,
        200,
        "stale keys keep serving"
    );
    assert!(
        log.contains(&ks.url("/jwks")) && log.contains("is not a usable JWKS"),
        "{log}"
    );
    assert!(log.contains("cached_keys=true"), "{log}");

    // 4. A key server that fails from the start: the failed fetch is a warning, once per
    //    attempt; the requests it refuses (503) add one debug line each, not a warning each.
    let down = KeyServer::start();
    down.set("/jwks", Reply::Status(500));
    let srv = serve(
        Some(jwks_config(&down.url("/jwks"), RemoteSettings::default())),
        routes,
    );
    logs.take();
    for _ in 0..5 {
        assert_eq!(get(srv.addr, "/me", &[&bearer(&token)]).status, 503);
    }
    let log = logs.take();
    let rejected: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("request rejected"))
        .collect();
    assert_eq!(rejected.len(), 5, "one line per refused request:\n{log}");
    assert!(
        rejected
            .iter()
            .all(|l| l.contains("DEBUG") && l.contains("keys_unavailable")),
        "{log}"
    );
    let warnings = log.lines().filter(|l| l.contains(" WARN ")).count();
    assert!(
        (1..=2).contains(&warnings),
        "{warnings} warnings for 5 requests, one fetch attempt:\n{log}"
    );
}
