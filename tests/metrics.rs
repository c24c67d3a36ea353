//! Metrics over real HTTP (issue 8): `endpoint_auth_requests_total` counts each request once
//! under its outcome, however many extractors ask, and every verification lands in
//! `endpoint_auth_verification_seconds`; with several trusted issuers the outcomes carry the
//! issuer's configured name.
//!
//! One test: the recorder is process-global and the snapshots reset the counters, so the
//! phases must not interleave.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::{web, HttpResponse};
use common::keyserver::{jwk, jwks, KeyServer, Reply};
use common::*;
use endpoint_auth::{
    Algorithm, AuthConfig, Authorized, Principal, RemoteSettings, Requirement, RequirementSpec,
};
use jsonwebtoken::Header;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use serde_json::json;

struct ReadReports;
impl RequirementSpec for ReadReports {
    const REQUIREMENT: Requirement = Requirement::Scope("read:reports");
}

async fn read(_auth: Authorized<ReadReports>) -> HttpResponse {
    HttpResponse::Ok().finish()
}
/// Three authenticating extractors on one request.
async fn three(_a: Authorized<ReadReports>, _p: Principal, _q: Principal) -> HttpResponse {
    HttpResponse::Ok().finish()
}
async fn public() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/read", web::get().to(read))
        .route("/three", web::get().to(three))
        .route("/public", web::get().to(public));
}

/// Counter values since the previous snapshot, by `outcome[/reason][@issuer]`, and the histogram
/// samples.
fn take(snapshotter: &Snapshotter) -> (BTreeMap<String, u64>, Vec<f64>) {
    let mut counts = BTreeMap::new();
    let mut samples = Vec::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        match (key.name(), value) {
            ("endpoint_auth_requests_total", DebugValue::Counter(n)) if n > 0 => {
                let label = |name: &str| {
                    key.labels()
                        .find(|l| l.key() == name)
                        .map(|l| l.value().to_owned())
                };
                let mut name = label("outcome").expect("outcome label");
                if let Some(reason) = label("reason") {
                    name = format!("{name}/{reason}");
                }
                if let Some(issuer) = label("issuer") {
                    name = format!("{name}@{issuer}");
                }
                counts.insert(name, n);
            }
            ("endpoint_auth_verification_seconds", DebugValue::Histogram(values)) => {
                samples.extend(values.into_iter().map(|v| v.into_inner()))
            }
            _ => {}
        }
    }
    (counts, samples)
}

fn expect(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn status(addr: std::net::SocketAddr, path: &str, headers: &[&str]) -> u16 {
    get(addr, path, headers).status
}

#[test]
fn each_request_is_counted_once_under_its_outcome() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    endpoint_auth::metrics::describe();

    // ---- static keys ----
    let s = serve(Some(builder().build().unwrap()), routes);
    let a = s.addr;
    let good = token("read:reports");
    let other = token("write:reports");
    let mut expired = claims("read:reports");
    expired["exp"] = json!(now() - 600);
    let expired = mint(Algorithm::ES256, &expired);
    let forged = format!(
        "{}.{}",
        good.rsplit_once('.').unwrap().0,
        other.rsplit_once('.').unwrap().1
    );

    for _ in 0..3 {
        assert_eq!(status(a, "/read", &[&bearer(&good)]), 200);
    }
    for _ in 0..2 {
        assert_eq!(status(a, "/three", &[&bearer(&good)]), 200);
    }
    assert_eq!(status(a, "/read", &[]), 401);
    assert_eq!(
        status(a, "/three", &["Authorization: Basic dXNlcjpwYXNz"]),
        401
    );
    assert_eq!(status(a, "/read", &["Authorization: Bearer"]), 400);
    assert_eq!(status(a, "/three", &["Authorization: Bearer a b"]), 400);
    assert_eq!(status(a, "/read", &[&bearer(&good), &bearer(&good)]), 400);
    assert_eq!(status(a, "/read", &[&bearer(&expired)]), 401);
    assert_eq!(status(a, "/three", &[&bearer(&expired)]), 401);
    assert_eq!(status(a, "/read", &[&bearer(&forged)]), 401);
    assert_eq!(status(a, "/read", &[&bearer("not-a-jwt")]), 401);
    assert_eq!(status(a, "/read", &[&bearer(&other)]), 403);
    assert_eq!(status(a, "/three", &[&bearer(&other)]), 403);
    // Routes that ask for no credentials are not counted, whatever they are sent.
    assert_eq!(status(a, "/public", &[&bearer("garbage")]), 200);

    let (counts, samples) = take(&snapshotter);
    assert_eq!(
        counts,
        expect(&[
            // 5 let through + 2 refused for scope: authentication succeeded 7 times.
            ("ok", 7),
            ("insufficient_scope", 2),
            ("missing", 2),
            ("invalid_request/malformed_header", 2),
            ("invalid_request/multiple_headers", 1),
            ("invalid_token/expired", 2),
            ("invalid_token/bad_signature", 1),
            ("invalid_token/malformed_token", 1),
        ])
    );
    // A sample per verification performed: each of the 4 rejected tokens is verified (11
    // requests carried a token), and each of the 2 distinct accepted tokens at least once
    // (a verified-token cache may serve repeats without verifying again).
    assert!((6..=11).contains(&samples.len()), "{samples:?}");
    assert!(samples.iter().all(|&s| s > 0.0 && s < 1.0), "{samples:?}");

    // ---- remote keys: three extractors wait for the same first fetch ----
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Slow(
            Duration::from_millis(200),
            Box::new(Reply::Json(jwks(&[jwk(Algorithm::ES256, "k1")]), None)),
        ),
    );
    let remote = AuthConfig::builder()
        .realm(REALM)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .jwks_url(ks.url("/jwks"))
        .build()
        .unwrap();
    // Registered with app_data, so each extractor starts its own wait for the fetch.
    let s = serve(Some(remote), routes);
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some("k1".into());
    let remote_good = mint_with_header(&h, &claims("read:reports"));
    assert_eq!(status(s.addr, "/three", &[&bearer(&remote_good)]), 200);
    assert_eq!(status(s.addr, "/three", &[&bearer(&remote_good)]), 200);
    let (counts, samples) = take(&snapshotter);
    assert_eq!(counts, expect(&[("ok", 2)]));
    assert!(!samples.is_empty(), "{samples:?}");
    assert_eq!(ks.hits("/jwks"), 1);

    // ---- keys unavailable ----
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks", closed.local_addr().unwrap());
    drop(closed);
    let mut quick = RemoteSettings::default();
    quick.timeout = Duration::from_secs(1);
    let down = AuthConfig::builder()
        .realm(REALM)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .jwks_url(url)
        .remote_settings(quick)
        .build()
        .unwrap();
    let s = serve(Some(down), routes);
    assert_eq!(status(s.addr, "/three", &[&bearer(&remote_good)]), 503);
    assert_eq!(status(s.addr, "/read", &[&bearer(&remote_good)]), 503);
    // Garbage never waits for keys, and is still counted as what it is.
    assert_eq!(status(s.addr, "/read", &[&bearer("x.y.z")]), 401);
    let (counts, _) = take(&snapshotter);
    assert_eq!(
        counts,
        expect(&[("unavailable", 2), ("invalid_token/malformed_token", 1)])
    );

    // ---- several trusted issuers: the configured name as the `issuer` label ----
    use endpoint_auth::testing::TestIssuer;
    let staff = TestIssuer::new(&[]).issuer("https://staff.example");
    let partners = TestIssuer::new(&[]).issuer("https://partners.example");
    let stranger = TestIssuer::new(&[]).issuer("https://stranger.example");
    let several = AuthConfig::builder()
        .realm(REALM)
        .trust(staff.trusted("staff"))
        .trust(partners.trusted("partners"))
        .build()
        .unwrap();
    let s = serve(Some(several), routes);
    let staff_read = staff.token().claim("scope", "read:reports").sign();
    let staff_bare = staff.token().sign();
    let partner_read = partners.token().claim("scope", "read:reports").sign();
    let partner_expired = partners
        .token()
        .claim("scope", "read:reports")
        .expired()
        .sign();
    let stranger_read = stranger.token().claim("scope", "read:reports").sign();
    for _ in 0..2 {
        assert_eq!(
            status(s.addr, "/read", &[&bearer(staff_read.as_str())]),
            200
        );
    }
    assert_eq!(
        status(s.addr, "/read", &[&bearer(partner_read.as_str())]),
        200
    );
    assert_eq!(
        status(s.addr, "/read", &[&bearer(staff_bare.as_str())]),
        403
    );
    assert_eq!(
        status(s.addr, "/read", &[&bearer(partner_expired.as_str())]),
        401
    );
    assert_eq!(
        status(s.addr, "/read", &[&bearer(stranger_read.as_str())]),
        401
    );
    assert_eq!(status(s.addr, "/read", &[]), 401);
    let (counts, _) = take(&snapshotter);
    assert_eq!(
        counts,
        expect(&[
            ("ok@staff", 3),
            ("ok@partners", 1),
            ("insufficient_scope@staff", 1),
            ("invalid_token/expired@partners", 1),
            // No configured issuer to name: the raw `iss` never becomes a label.
            ("invalid_token/untrusted_issuer", 1),
            ("missing", 1),
        ])
    );
}
