//! The verified-token cache (issue 7): hits only for the exact token, never past exp + leeway,
//! never after the key set changed, never for rejected tokens; can be turned off. Admission
//! on the second sighting, per thread (issue 16): the tests that count entries serve with one
//! worker, so that every request meets the same cache.

mod common;

use std::time::Duration;

use actix_web::{web, HttpResponse};
use common::keyserver::{jwk, jwks, jwks_config, KeyServer, Reply};
use common::*;
use endpoint_auth::{Algorithm, Principal, RemoteSettings, TokenCacheSettings};
use jsonwebtoken::Header;
use serde_json::json;

async fn me(p: Principal) -> HttpResponse {
    HttpResponse::Ok().body(p.subject().unwrap_or_default().to_owned())
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me));
}

#[test]
fn repeated_tokens_are_cached_and_rejections_are_not() {
    let cfg = builder().build().unwrap();
    let cache_len = {
        let cfg = cfg.clone();
        move || cfg.cached_tokens()
    };
    let s = serve_one_worker(cfg, routes);
    let t = token("read:reports");
    assert_eq!(get(s.addr, "/me", &[&bearer(&t)]).text(), "user-1");
    assert_eq!(cache_len(), 0, "a token seen once is not stored");
    assert_eq!(get(s.addr, "/me", &[&bearer(&t)]).text(), "user-1");
    assert_eq!(cache_len(), 1, "a token verified twice is stored");
    assert_eq!(get(s.addr, "/me", &[&bearer(&t)]).text(), "user-1");
    assert_eq!(cache_len(), 1);
    // A token differing in one signature character is not the cached one.
    let (head, sig) = t.rsplit_once('.').unwrap();
    let flipped = if sig.ends_with('A') { "B" } else { "A" };
    let forged = format!("{head}.{}{flipped}", &sig[..sig.len() - 1]);
    assert_eq!(get(s.addr, "/me", &[&bearer(&forged)]).status, 401);
    assert_eq!(get(s.addr, "/me", &[&bearer("a.b.c")]).status, 401);
    // The cache hashes only a token's length and last bytes (its signature): a token with the
    // cached one's signature and length but another payload (`sub` user-2 for user-1) shares
    // its hash, and must still be compared in full and verified.
    let same_tail = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        let payload = String::from_utf8(b64.decode(&parts[1]).unwrap()).unwrap();
        assert!(payload.contains("\"user-1\""));
        parts[1] = b64.encode(payload.replace("\"user-1\"", "\"user-2\""));
        parts.join(".")
    };
    assert_eq!(same_tail.len(), t.len());
    assert_eq!(same_tail[same_tail.len() - 16..], t[t.len() - 16..]);
    assert_eq!(get(s.addr, "/me", &[&bearer(&same_tail)]).status, 401);
    // Rejected tokens are never stored, however often they come.
    for _ in 0..3 {
        assert_eq!(get(s.addr, "/me", &[&bearer(&forged)]).status, 401);
    }
    assert_eq!(cache_len(), 1, "rejected tokens are never stored");
    // Valid tokens each presented once do not fill the cache.
    for i in 0..20 {
        let mut c = claims("read:reports");
        c["jti"] = json!(format!("once-{i}"));
        assert_eq!(
            get(s.addr, "/me", &[&bearer(&mint(Algorithm::ES256, &c))]).status,
            200
        );
    }
    assert_eq!(cache_len(), 1, "tokens seen once are not stored");
}

/// A cached token decides nothing by itself: the same token sent by a second method too is
/// still the 400 it would be uncached (the cached path must not skip that rule).
#[test]
fn a_cached_token_sent_by_two_methods_is_still_400() {
    let cfg = builder().allow_query_token().build().unwrap();
    let probe = cfg.clone();
    let s = serve_one_worker(cfg, routes);
    let t = token("read:reports");
    for _ in 0..3 {
        assert_eq!(get(s.addr, "/me", &[&bearer(&t)]).status, 200);
    }
    assert_eq!(probe.cached_tokens(), 1);
    let r = get(s.addr, &format!("/me?access_token={t}"), &[&bearer(&t)]);
    assert_eq!(r.status, 400);
    assert!(r
        .challenge()
        .contains("the access token was sent by more than one method"));
    // Two Authorization headers, each the cached token: 400 as well.
    let r = get(s.addr, "/me", &[&bearer(&t), &bearer(&t)]);
    assert_eq!(r.status, 400);
}

#[test]
fn a_cached_token_is_refused_once_expired_beyond_leeway() {
    let cfg = builder().leeway(Duration::from_secs(1)).build().unwrap();
    let probe = cfg.clone();
    let s = serve_one_worker(cfg, routes);
    let mut c = claims("");
    c["exp"] = json!(now() + 1);
    let t = mint(Algorithm::ES256, &c);
    assert_eq!(get(s.addr, "/me", &[&bearer(&t)]).status, 200);
    assert_eq!(get(s.addr, "/me", &[&bearer(&t)]).status, 200);
    assert_eq!(probe.cached_tokens(), 1);
    std::thread::sleep(Duration::from_millis(3200));
    let r = get(s.addr, "/me", &[&bearer(&t)]);
    assert_eq!(r.status, 401);
    assert!(r.challenge().contains("the access token has expired"));
}

/// The key set changes while it is still fresh (10 min lifetime): only the key-set
/// generation can make the cached token miss.
#[test]
fn a_cached_token_is_refused_after_its_key_left_the_key_set() {
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Json(
            jwks(&[jwk(Algorithm::RS256, "old"), jwk(Algorithm::ES256, "new")]),
            None,
        ),
    );
    let cfg = jwks_config(&ks.url("/jwks"), RemoteSettings::default());
    let probe = cfg.clone();
    let s = serve_one_worker(cfg, routes);
    let with_kid = |alg, kid: &str| {
        let mut h = Header::new(alg);
        h.kid = Some(kid.into());
        mint_with_header(&h, &claims(""))
    };
    let t = with_kid(Algorithm::RS256, "old");
    assert_eq!(get(s.addr, "/me", &[&bearer(&t)]).status, 200);
    assert_eq!(get(s.addr, "/me", &[&bearer(&t)]).status, 200);
    assert_eq!(probe.cached_tokens(), 1);
    assert_eq!(get(s.addr, "/me", &[&bearer(&t)]).status, 200); // served from the cache
    let generation = probe.remote_keys().unwrap().keys_generation();
    // The provider rotates "old" out; a token with a new kid makes the service refresh.
    ks.set(
        "/jwks",
        Reply::Json(
            jwks(&[jwk(Algorithm::ES256, "new"), jwk(Algorithm::EdDSA, "newer")]),
            None,
        ),
    );
    assert_eq!(
        get(
            s.addr,
            "/me",
            &[&bearer(&with_kid(Algorithm::EdDSA, "newer"))]
        )
        .status,
        200
    );
    assert_ne!(probe.remote_keys().unwrap().keys_generation(), generation);
    let r = get(s.addr, "/me", &[&bearer(&t)]);
    assert_eq!(r.status, 401, "the cached token must not outlive its key");
    assert!(
        r.challenge().contains("error=\"invalid_token\""),
        "{}",
        r.challenge()
    );
}

/// A refresh that returns the same keys (in another order, with other whitespace) keeps the
/// generation, so cached tokens stay cached; a changed key set gets a new one.
#[test]
fn a_refresh_with_the_same_keys_keeps_the_key_set_generation() {
    let ks = KeyServer::start();
    let (a, b) = (jwk(Algorithm::RS256, "a"), jwk(Algorithm::ES256, "b"));
    ks.set("/jwks", Reply::Json(jwks(&[a.clone(), b.clone()]), Some(1)));
    let mut settings = RemoteSettings::default();
    settings.min_ttl = Duration::from_secs(1);
    let cfg = jwks_config(&ks.url("/jwks"), settings);
    let probe = cfg.clone();
    let s = serve(Some(cfg), routes);
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("a".into());
    let t = mint_with_header(&h, &claims(""));
    assert_eq!(get(s.addr, "/me", &[&bearer(&t)]).status, 200);
    let remote = probe.remote_keys().unwrap();
    let generation = remote.keys_generation();
    let reordered = serde_json::to_string_pretty(&json!({ "keys": [b, a] })).unwrap();
    ks.set("/jwks", Reply::Json(reordered, Some(1)));
    let wait_for_fetches = |n: usize| {
        let deadline = std::time::Instant::now() + Duration::from_secs(6);
        while ks.hits("/jwks") < n {
            assert!(std::time::Instant::now() < deadline, "no refresh");
            assert_eq!(get(s.addr, "/me", &[&bearer(&t)]).status, 200);
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for_fetches(3);
    assert_eq!(remote.keys_generation(), generation);
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::RS256, "a")]), Some(1)),
    );
    wait_for_fetches(ks.hits("/jwks") + 2);
    assert_ne!(remote.keys_generation(), generation);
}

#[test]
fn the_cache_is_bounded_and_can_be_turned_off() {
    let small = TokenCacheSettings {
        max_entries: 3,
        max_bytes: 1 << 20,
    };
    let cfg = builder().token_cache(Some(small)).build().unwrap();
    let probe = cfg.clone();
    let s = serve_one_worker(cfg, routes);
    for i in 0..20 {
        let mut c = claims("");
        c["jti"] = json!(format!("token-{i}"));
        let t = mint(Algorithm::HS256, &c);
        for _ in 0..2 {
            assert_eq!(get(s.addr, "/me", &[&bearer(&t)]).status, 200);
        }
    }
    let held = probe.cached_tokens();
    assert!((1..=3).contains(&held), "{held} entries");
    let off = builder().token_cache(None).build().unwrap();
    let probe = off.clone();
    let s = serve(Some(off), routes);
    assert_eq!(get(s.addr, "/me", &[&bearer(&token(""))]).status, 200);
    assert_eq!(get(s.addr, "/me", &[&bearer(&token(""))]).status, 200);
    assert_eq!(probe.cached_tokens(), 0);
}
