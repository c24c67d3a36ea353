//! The built `reports_api` example as a subprocess, in both modes, driven over HTTP (issue 5).

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use common::example::{example_binary, start};
use common::keyserver::{jwk, jwks, KeyServer, Reply};
use common::*;
use endpoint_auth::Algorithm;
use serde_json::json;

/// Drives every route with tokens for: read, read+write, read+write+admin, export.
fn drive_every_route(addr: SocketAddr, read: &str, write: &str, admin: &str, export: &str) {
    let json_ct = "Content-Type: application/json";
    assert_eq!(get(addr, "/health", &[]).status, 200);

    // /me: any valid token
    let r = get(addr, "/me", &[&bearer(read)]);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["scopes"], json!(["read:reports"]));
    assert_eq!(
        get(addr, "/me", &[]).challenge(),
        format!(
            "Bearer realm=\"reports-api\", resource_metadata=\"http://{addr}/.well-known/oauth-protected-resource\""
        )
    );

    // GET /reports
    assert_eq!(get(addr, "/reports", &[&bearer(read)]).status, 200);
    let r = get(addr, "/reports", &[&bearer(export)]);
    assert_eq!(r.status, 403);
    assert!(
        r.challenge().ends_with("scope=\"read:reports\""),
        "{}",
        r.challenge()
    );

    // POST /reports: 201; 403 read-only; 401/403 before body parsing
    let r = request(
        addr,
        "POST",
        "/reports",
        &[json_ct, &bearer(write)],
        br#"{"title":"Q3"}"#,
    );
    assert_eq!(r.status, 201);
    let id = r.json()["id"].as_u64().unwrap();
    let r = request(
        addr,
        "POST",
        "/reports",
        &[json_ct, &bearer(read)],
        br#"{"title":"Q3"}"#,
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        r.challenge(),
        "Bearer realm=\"reports-api\", error=\"insufficient_scope\", error_description=\"the access token does not grant the scope this endpoint requires\", scope=\"write:reports\""
    );
    assert_eq!(
        request(addr, "POST", "/reports", &[json_ct], b"{broken").status,
        401
    );
    assert_eq!(
        request(
            addr,
            "POST",
            "/reports",
            &[json_ct, &bearer(read)],
            b"{broken"
        )
        .status,
        403
    );
    assert_eq!(
        request(
            addr,
            "POST",
            "/reports",
            &[json_ct, &bearer(write)],
            b"{broken"
        )
        .status,
        400
    );

    // GET /reports/{id}/export: read or export; 404 when absent, but auth first
    assert_eq!(
        get(addr, &format!("/reports/{id}/export"), &[&bearer(read)]).status,
        200
    );
    assert_eq!(
        get(addr, &format!("/reports/{id}/export"), &[&bearer(export)]).status,
        200
    );
    assert_eq!(
        get(addr, "/reports/999/export", &[&bearer(export)]).status,
        404
    );
    assert_eq!(get(addr, "/reports/999/export", &[]).status, 401);
    assert_eq!(get(addr, "/reports/not-a-number/export", &[]).status, 401);

    // DELETE /reports/{id}: write AND admin
    let r = request(
        addr,
        "DELETE",
        &format!("/reports/{id}"),
        &[&bearer(write)],
        b"",
    );
    assert_eq!(r.status, 403);
    assert!(
        r.challenge()
            .ends_with("scope=\"write:reports admin:reports\""),
        "{}",
        r.challenge()
    );
    assert_eq!(
        request(addr, "DELETE", "/reports/999", &[], b"").status,
        401
    );
    assert_eq!(
        request(
            addr,
            "DELETE",
            &format!("/reports/{id}"),
            &[&bearer(admin)],
            b""
        )
        .status,
        204
    );
    assert_eq!(
        request(
            addr,
            "DELETE",
            &format!("/reports/{id}"),
            &[&bearer(admin)],
            b""
        )
        .status,
        404
    );

    // A bad token anywhere: 401 invalid_token
    let r = get(addr, "/reports", &[&bearer("abc.def.ghi")]);
    assert_eq!(r.status, 401);
    assert!(r.challenge().contains("error=\"invalid_token\""));
}

fn token_from_curl(line: &str) -> String {
    let start = line
        .find("Bearer ")
        .expect("a bearer token in the curl command")
        + 7;
    line[start..].split('\'').next().unwrap().to_owned()
}

#[test]
fn embedded_default_serves_every_route_and_its_printed_tokens_work() {
    let svc = start(&[]);
    let curls: Vec<&String> = svc
        .stdout
        .iter()
        .filter(|l| l.starts_with("curl ") && l.contains("Bearer"))
        .collect();
    assert_eq!(curls.len(), 4, "{:?}", svc.stdout);
    let (read, write, admin) = (
        token_from_curl(curls[0]),
        token_from_curl(curls[1]),
        token_from_curl(curls[2]),
    );
    let mint = Command::new(example_binary())
        .args(["mint", "export:reports"])
        .env("BIND", svc.addr.to_string())
        .env_remove("AUTH_ISSUER")
        .output()
        .unwrap();
    assert!(mint.status.success());
    let export = String::from_utf8(mint.stdout).unwrap().trim().to_owned();
    drive_every_route(svc.addr, &read, &write, &admin, &export);
    // Prometheus wiring: every outcome above was counted.
    let metrics = get(svc.addr, "/metrics", &[]).text();
    for needle in [
        "endpoint_auth_requests_total{outcome=\"ok\"}",
        "endpoint_auth_requests_total{outcome=\"missing\"}",
        "endpoint_auth_requests_total{outcome=\"insufficient_scope\"}",
        "endpoint_auth_requests_total{outcome=\"invalid_token\",reason=\"malformed_token\"}",
        "endpoint_auth_verification_seconds_bucket",
    ] {
        assert!(
            metrics.contains(needle),
            "{needle} missing from /metrics:\n{metrics}"
        );
    }
    // The published JWKS holds the key that signs the dev tokens.
    let r = get(svc.addr, "/.well-known/jwks.json", &[]);
    assert_eq!(r.json()["keys"][0]["kid"], "reports-api-dev");
}

#[test]
fn against_a_real_jwks_server_via_the_environment() {
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::ES256, "idp-1")]), None),
    );
    let svc = start(&[("AUTH_ISSUER", ISSUER), ("AUTH_JWKS_URL", &ks.url("/jwks"))]);
    let token = |scope: &str| {
        let mut h = jsonwebtoken::Header::new(Algorithm::ES256);
        h.kid = Some("idp-1".into());
        mint_with_header(&h, &claims(scope))
    };
    drive_every_route(
        svc.addr,
        &token("read:reports"),
        &token("read:reports write:reports"),
        &token("read:reports write:reports admin:reports"),
        &token("export:reports"),
    );
    assert_eq!(ks.hits("/jwks"), 1);
}

#[test]
fn mint_refuses_to_run_with_a_real_issuer() {
    let out = Command::new(example_binary())
        .args(["mint", "read:reports"])
        .env("AUTH_ISSUER", ISSUER)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("embedded default"));
}

#[test]
fn bad_configuration_fails_fast_with_one_clear_line() {
    for (env, expect) in [
        (vec![("BIND", "nonsense")], "BIND"),
        (
            vec![("AUTH_ISSUER", "http://127.0.0.1:9/unreachable")],
            "discovery",
        ),
        (
            vec![("AUTH_ISSUER", ISSUER), ("AUTH_JWKS_URL", "not a url")],
            "not an acceptable key URL",
        ),
        (
            vec![("AUTH_JWKS_URL", "https://idp.example/jwks")],
            "AUTH_ISSUER",
        ),
    ] {
        let started = Instant::now();
        let out = Command::new(example_binary())
            .env_remove("AUTH_ISSUER")
            .env_remove("AUTH_JWKS_URL")
            .envs(env.iter().copied())
            .env(
                "BIND",
                env.iter()
                    .find(|(k, _)| *k == "BIND")
                    .map_or("127.0.0.1:0", |(_, v)| v),
            )
            .output()
            .unwrap();
        assert!(!out.status.success(), "{env:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err
            .lines()
            .rev()
            .find(|l| l.starts_with("reports_api: "))
            .unwrap_or_else(|| panic!("{err}"));
        assert!(line.contains(expect), "{env:?}: {line}");
        assert!(
            started.elapsed() < Duration::from_secs(12),
            "{env:?} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn ctrl_c_shuts_down_cleanly() {
    let mut svc = start(&[]);
    let pid = svc.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = svc.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "did not stop after SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    }
}
