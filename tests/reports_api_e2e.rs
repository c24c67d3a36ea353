//! The built `reports_api` example as a subprocess, in both modes, driven over HTTP (issue 5).

mod common;

use std::io::Read as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::example::{command, example_binary, start, Scratch};
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
    // Authorized, but a body that is not a report: 400 problem details, as documented (no
    // challenge: the credentials are fine).
    for (content_type, body) in [
        (json_ct, &b"{broken"[..]),
        ("Content-Type: text/plain", b"{}"),
    ] {
        let r = request(
            addr,
            "POST",
            "/reports",
            &[content_type, &bearer(write)],
            body,
        );
        assert_eq!(r.status, 400, "{content_type}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert_eq!(r.json()["status"], 400);
        assert!(r.header("www-authenticate").is_none());
    }

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

    // DELETE /reports/{id}: write:reports, then the author or a reports-admin (a check)
    let r = request(
        addr,
        "DELETE",
        &format!("/reports/{id}"),
        &[&bearer(read)],
        b"",
    );
    assert_eq!(r.status, 403);
    assert!(
        r.challenge().ends_with("scope=\"write:reports\""),
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

/// `GET /reports/public` (optional authentication): the public reports for anyone, the
/// caller's own private ones too with a valid token, and 401/400 (never the anonymous list)
/// for an expired token or malformed credentials. `write` creates the reports it then owns.
fn drive_public_reports(addr: SocketAddr, write: &str, expired: &str) {
    let ids = |r: &Response| -> Vec<u64> {
        assert_eq!(r.status, 200, "{r:?}");
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|report| report["id"].as_u64().unwrap())
            .collect()
    };
    let create = |title: &str, public: bool| {
        let body = json!({ "title": title, "public": public }).to_string();
        let r = request(
            addr,
            "POST",
            "/reports",
            &["Content-Type: application/json", &bearer(write)],
            body.as_bytes(),
        );
        assert_eq!(r.status, 201, "{r:?}");
        r.json()["id"].as_u64().unwrap()
    };
    let private = create("Mine only", false);
    let shared = create("For everyone", true);

    let anonymous = get(addr, "/reports/public", &[]);
    assert!(anonymous.header("www-authenticate").is_none());
    let listed = ids(&anonymous);
    assert!(
        listed.contains(&1) && listed.contains(&shared),
        "{listed:?}"
    );
    assert!(!listed.contains(&private), "{listed:?}");

    let listed = ids(&get(addr, "/reports/public", &[&bearer(write)]));
    for id in [1, shared, private] {
        assert!(listed.contains(&id), "{id} missing from {listed:?}");
    }

    let r = get(addr, "/reports/public", &[&bearer(expired)]);
    assert_eq!(r.status, 401, "{r:?}");
    assert!(
        r.challenge().starts_with(
            "Bearer realm=\"reports-api\", error=\"invalid_token\", error_description=\"the access token has expired\""
        ),
        "{}",
        r.challenge()
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = get(addr, "/reports/public", &["Authorization: Bearer"]);
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.challenge().contains("error=\"invalid_request\""));
}

/// A token of the embedded default that expired an hour ago, signed with its dev key.
fn expired_dev_token(svc: &common::example::Service) -> String {
    let pkcs8 = std::fs::read(svc.key_dir.join("reports_api-dev-key.p8")).unwrap();
    let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
    header.kid = Some("reports-api-dev".into());
    header.typ = Some("at+jwt".into());
    let mut claims = claims("read:reports");
    claims["iss"] = json!(format!("http://{}", svc.addr));
    claims["exp"] = json!(now() - 3600);
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(&pkcs8),
    )
    .unwrap()
}

/// A token of the test provider behind `AUTH_JWKS_URL`: ES256, `kid` `idp-1`.
fn idp_token(claims: &serde_json::Value) -> String {
    let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
    header.kid = Some("idp-1".into());
    mint_with_header(&header, claims)
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
    let mint = command(&svc.key_dir)
        .args(["mint", "export:reports"])
        .env("BIND", svc.addr.to_string())
        .output()
        .unwrap();
    assert!(mint.status.success());
    let export = String::from_utf8(mint.stdout).unwrap().trim().to_owned();
    drive_every_route(svc.addr, &read, &write, &admin, &export);
    drive_public_reports(svc.addr, &write, &expired_dev_token(&svc));
    // The quickstart shows the route without a token.
    assert!(svc
        .stdout
        .iter()
        .any(|l| l == &format!("curl -i http://{}/reports/public", svc.addr)));
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
    // Embedded keys are usable from the start.
    assert_eq!(get(svc.addr, "/ready", &[]).status, 200);
}

#[test]
fn against_a_real_jwks_server_via_the_environment() {
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::ES256, "idp-1")]), None),
    );
    let svc = start(&[("AUTH_ISSUER", ISSUER), ("AUTH_JWKS_URL", &ks.url("/jwks"))]);
    let token = |scope: &str| idp_token(&claims(scope));
    // The admin is another user with the reports-admin role (in `roles`, the default).
    let admin = {
        let mut c = claims("read:reports write:reports admin:reports");
        c["sub"] = json!("admin-1");
        c["roles"] = json!(["reports-admin"]);
        idp_token(&c)
    };
    drive_every_route(
        svc.addr,
        &token("read:reports"),
        &token("read:reports write:reports"),
        &admin,
        &token("export:reports"),
    );
    let expired = {
        let mut c = claims("read:reports");
        c["exp"] = json!(now() - 3600);
        idp_token(&c)
    };
    drive_public_reports(svc.addr, &token("read:reports write:reports"), &expired);
    assert_eq!(ks.hits("/jwks"), 1);
}

/// Issue 19 on the flagship: a tenant's reports, for members of that tenant (a claim equal
/// to the path parameter) with a verified email, with real tokens from a real key server.
#[test]
fn a_tenant_lists_its_reports_with_a_verified_email() {
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::ES256, "idp-1")]), None),
    );
    let svc = start(&[("AUTH_ISSUER", ISSUER), ("AUTH_JWKS_URL", &ks.url("/jwks"))]);
    let token = |scope: &str, extra: serde_json::Value| {
        let mut c = claims(scope);
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        idp_token(&c)
    };
    let acme_writer = token("write:reports", json!({ "tenant": "acme" }));
    let r = request(
        svc.addr,
        "POST",
        "/reports",
        &["Content-Type: application/json", &bearer(&acme_writer)],
        br#"{"title":"acme plan"}"#,
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["tenant"], "acme");

    let list = |t: &str| get(svc.addr, "/tenants/acme/reports", &[&bearer(t)]);
    let member = token(
        "read:reports",
        json!({ "tenant": "acme", "email_verified": true }),
    );
    let r = list(&member);
    assert_eq!(r.status, 200, "{}", r.text());
    // Only the tenant's report, not the seeded one (no tenant).
    assert_eq!(
        r.json(),
        json!([{ "id": 2, "title": "acme plan", "owner": "user-1", "public": false, "tenant": "acme" }])
    );
    // Another tenant, an unverified email, or no read scope: refused; only the scope has a hint.
    for t in [
        token(
            "read:reports",
            json!({ "tenant": "globex", "email_verified": true }),
        ),
        token(
            "read:reports",
            json!({ "tenant": "acme", "email_verified": false }),
        ),
        token("read:reports", json!({ "tenant": "acme" })),
    ] {
        let r = list(&t);
        assert_eq!(r.status, 403);
        assert!(!r.challenge().contains("scope="), "{}", r.challenge());
        assert!(
            !r.text().contains("globex"),
            "the presented tenant is not echoed"
        );
    }
    let r = list(&token(
        "export:reports",
        json!({ "tenant": "acme", "email_verified": true }),
    ));
    assert_eq!(r.status, 403);
    assert!(
        r.challenge().ends_with("scope=\"read:reports\""),
        "{}",
        r.challenge()
    );
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
            vec![("AUTH_ISSUER", "ftp://idp.example/")],
            "not an acceptable key URL",
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

/// A restart during an identity-provider outage must not take the service down: it starts,
/// stays live, is not ready, answers 503 on protected routes, and recovers on its own.
#[test]
fn starts_while_the_issuer_is_unreachable_and_recovers_without_a_restart() {
    let ks = KeyServer::start();
    let addr = ks.addr();
    ks.stop(); // connections to the provider are refused
    let svc = start(&[("AUTH_ISSUER", ISSUER), ("AUTH_JWKS_URL", &ks.url("/jwks"))]);
    let token = idp_token(&claims("read:reports"));
    assert_eq!(get(svc.addr, "/health", &[]).status, 200);
    let r = get(svc.addr, "/ready", &[]);
    assert_eq!(r.status, 503);
    assert!(r.header("retry-after").is_some());
    let r = get(svc.addr, "/reports", &[&bearer(&token)]);
    assert_eq!(r.status, 503, "{r:?}");
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r.header("www-authenticate").is_none());
    // No token: still the 401 challenge, keys or not.
    assert_eq!(get(svc.addr, "/reports", &[]).status, 401);

    // The provider comes back on the same address.
    let ks = KeyServer::start_on(addr);
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::ES256, "idp-1")]), None),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(svc.addr, "/ready", &[]).status != 200 {
        assert!(
            Instant::now() < deadline,
            "not ready after the provider came back"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(get(svc.addr, "/reports", &[&bearer(&token)]).status, 200);
}

#[test]
fn starts_while_discovery_is_unreachable() {
    let svc = start(&[("AUTH_ISSUER", "http://127.0.0.1:9/unreachable")]);
    assert_eq!(get(svc.addr, "/health", &[]).status, 200);
    assert_eq!(get(svc.addr, "/ready", &[]).status, 503);
    assert_eq!(get(svc.addr, "/openapi.json", &[]).status, 200);
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

/// Runs the example to its exit and returns its one line on stderr. Fails if it is still running
/// after 15 s (it started instead of refusing), exits with success, or says more than one line.
fn refusal(mut cmd: Command) -> String {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after 15 s: it started instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success(), "exited with success; stderr: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr, not: {err}");
    assert!(lines[0].starts_with("reports_api: "), "{err}");
    lines[0].to_owned()
}

#[test]
fn non_loopback_bind_on_the_embedded_default_refuses_to_start_with_one_line() {
    let scratch = Scratch::new();
    for bind in ["0.0.0.0:0", "[::]:0", "192.0.2.1:8080"] {
        for args in [&[][..], &["mint", "read:reports"][..]] {
            let mut cmd = command(&scratch.key_dir());
            cmd.args(args).env("BIND", bind);
            let line = refusal(cmd);
            assert!(
                line.contains(&format!("BIND={bind} is not a loopback address"))
                    && line.contains("AUTH_ISSUER="),
                "{bind} {args:?}: {line}"
            );
        }
    }
    // Refused before anything else: not even the dev key was created.
    assert!(!scratch.key_dir().exists());
}

#[test]
fn non_loopback_bind_is_allowed_with_a_real_issuer() {
    let ks = KeyServer::start();
    ks.set(
        "/jwks",
        Reply::Json(jwks(&[jwk(Algorithm::ES256, "idp-1")]), None),
    );
    let svc = start(&[
        ("AUTH_ISSUER", ISSUER),
        ("AUTH_JWKS_URL", &ks.url("/jwks")),
        ("BIND", "0.0.0.0:0"),
    ]);
    assert!(svc.addr.ip().is_unspecified(), "{}", svc.addr);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, svc.addr.port()));
    let token = idp_token(&claims("read:reports"));
    assert_eq!(get(addr, "/reports", &[&bearer(&token)]).status, 200);
    // Next to a real issuer there is no dev token endpoint, whatever the address: deny by
    // default asks an anonymous caller for a token first, and a valid one finds nothing.
    let ask = |auth: Option<&str>| {
        let mut headers = vec!["Content-Type: application/x-www-form-urlencoded".to_owned()];
        headers.extend(auth.map(bearer));
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        request(
            addr,
            "POST",
            "/oauth/token",
            &headers,
            b"grant_type=client_credentials&scope=admin:reports",
        )
    };
    assert_eq!(ask(None).status, 401);
    assert_eq!(ask(Some(&token)).status, 404);
}

/// Issue 19 on the flagship: a report is deleted by its author or a `reports-admin` role
/// holder; anyone else, even with `write:reports`, is told it does not exist.
#[test]
fn a_report_is_deleted_by_its_author_or_an_admin_and_hidden_from_others() {
    let svc = start(&[]);
    let curls: Vec<&String> = svc
        .stdout
        .iter()
        .filter(|l| l.starts_with("curl ") && l.contains("Bearer"))
        .collect();
    let (writer, admin) = (token_from_curl(curls[1]), token_from_curl(curls[2]));
    // Another user with write:reports (the dev token endpoint's client).
    let other = request(
        svc.addr,
        "POST",
        "/oauth/token",
        &["Content-Type: application/x-www-form-urlencoded"],
        b"grant_type=client_credentials&scope=write:reports",
    )
    .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let create = || {
        let r = request(
            svc.addr,
            "POST",
            "/reports",
            &["Content-Type: application/json", &bearer(&writer)],
            br#"{"title":"mine"}"#,
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["id"].as_u64().unwrap()
    };
    let delete = |id: u64, who: &str| {
        request(
            svc.addr,
            "DELETE",
            &format!("/reports/{id}"),
            &[&bearer(who)],
            b"",
        )
    };
    let id = create();
    let r = delete(id, &other);
    assert_eq!(r.status, 404, "someone else's report is hidden");
    assert_eq!(r.header_count("www-authenticate"), 0);
    assert_eq!(
        delete(999, &other).status,
        404,
        "the same answer as a missing one"
    );
    assert_eq!(delete(id, &writer).status, 204, "the author deletes it");
    let id = create();
    assert_eq!(
        delete(id, &admin).status,
        204,
        "a reports-admin deletes anyone's"
    );
    // The document names the check.
    let doc = get(svc.addr, "/openapi.json", &[]).json();
    assert_eq!(
        doc["paths"]["/reports/{id}"]["delete"]["x-checks"],
        json!(["author_or_admin"])
    );
    assert_eq!(
        doc["paths"]["/tenants/{tenant}/reports"]["get"]["x-claims"]["requirement"],
        "all(scope = \"read:reports\", all(claim(tenant = path.tenant), claim(email_verified = true)))"
    );
}

/// reports_api runs deny-by-default: every route is declared `#[requires]` or `#[public]`,
/// and a path no declaration covers asks for a token before anything else answers.
#[test]
fn deny_by_default_covers_what_no_declaration_does() {
    let svc = start(&[]);
    for path in [
        "/health",
        "/ready",
        "/openapi.json",
        "/metrics",
        "/reports/public",
        "/.well-known/jwks.json",
        "/.well-known/oauth-protected-resource",
    ] {
        assert_eq!(
            get(svc.addr, path, &[]).status,
            200,
            "{path} is declared #[public]"
        );
    }
    let r = get(svc.addr, "/no-such-route", &[]);
    assert_eq!(r.status, 401);
    assert!(
        r.challenge().starts_with("Bearer realm=\"reports-api\""),
        "{}",
        r.challenge()
    );
    let r = request(svc.addr, "POST", "/oauth/token", &[], b"");
    assert_ne!(r.status, 401, "the dev token endpoint is public");
}

#[test]
fn token_endpoint_separates_scopes_by_single_spaces_only() {
    let svc = start(&[]);
    let ask = |scope: &str| {
        request(
            svc.addr,
            "POST",
            "/oauth/token",
            &["Content-Type: application/x-www-form-urlencoded"],
            format!("grant_type=client_credentials&scope={scope}").as_bytes(),
        )
    };
    let r = ask("read:reports%20write:reports");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["scope"], "read:reports write:reports");
    // RFC 6749 §3.3: %x20 only. Anything else would hand out scopes nobody asked for by name.
    for separator in ["%09", "%0A", "%0C", "%0D", "%20%20"] {
        let r = ask(&format!("read:reports{separator}write:reports"));
        assert_eq!(r.status, 400, "separated by {separator}");
        assert_eq!(
            r.json()["error"],
            "invalid_scope",
            "separated by {separator}"
        );
    }
    // A scope asked for twice (a token the size of the request, over the API's limit).
    let r = ask("read:reports%20read:reports");
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("invalid_scope"))
    );
    // A body that is not the endpoint's form: RFC 6749 §5.2 JSON, never cached, for both of
    // the dev endpoints.
    for (endpoint, body) in [
        ("/oauth/token", &b"scope=read:reports"[..]),
        (
            "/oauth/token",
            b"grant_type=client_credentials&grant_type=x",
        ),
        ("/oauth/revoke", b"token=a&token=b"),
    ] {
        let r = request(
            svc.addr,
            "POST",
            endpoint,
            &["Content-Type: application/x-www-form-urlencoded"],
            body,
        );
        assert_eq!(
            r.status,
            400,
            "{endpoint} {}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(r.json()["error"], "invalid_request", "{endpoint}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{endpoint}");
    }
}

/// RFC 9470 step-up on the flagship: exporting every report needs a user who authenticated
/// with MFA in the last 15 minutes; the dev token endpoint performs that "login" when a
/// client asks for `acr_values=urn:example:mfa`, as a client would ask its authorization
/// server after the challenge.
#[test]
fn exporting_everything_asks_for_a_recent_mfa_login() {
    let svc = start(&[]);
    let ask = |extra: &str| {
        let r = request(
            svc.addr,
            "POST",
            "/oauth/token",
            &["Content-Type: application/x-www-form-urlencoded"],
            format!("grant_type=client_credentials&scope=export:reports{extra}").as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["access_token"].as_str().unwrap().to_owned()
    };

    let plain = ask("");
    let r = get(svc.addr, "/reports/export", &[&bearer(&plain)]);
    let challenge = r.challenge().to_owned();
    endpoint_auth::testing::assert_insufficient_user_authentication(
        r.raw(),
        Some("urn:example:mfa"),
        Some(900),
    );
    assert!(
        challenge.starts_with(
            "Bearer realm=\"reports-api\", error=\"insufficient_user_authentication\""
        ),
        "{challenge}"
    );

    // The client does what the challenge says, and retries.
    let stepped_up = ask("&acr_values=urn:example:mfa");
    let r = get(svc.addr, "/reports/export", &[&bearer(&stepped_up)]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/csv"));
    assert!(r.text().starts_with("id,title\n"), "{}", r.text());

    // MFA does not stand in for the scope: 403 first.
    let r = request(
        svc.addr,
        "POST",
        "/oauth/token",
        &["Content-Type: application/x-www-form-urlencoded"],
        b"grant_type=client_credentials&scope=read:reports&acr_values=urn:example:mfa",
    );
    let reader = r.json()["access_token"].as_str().unwrap().to_owned();
    endpoint_auth::testing::assert_insufficient_scope(
        get(svc.addr, "/reports/export", &[&bearer(&reader)]).raw(),
        "export:reports",
    );

    // `mint --mfa` gives the same kind of token from the command line.
    let mint = command(&svc.key_dir)
        .args(["mint", "--mfa", "export:reports"])
        .env("BIND", svc.addr.to_string())
        .output()
        .unwrap();
    assert!(mint.status.success());
    let minted = String::from_utf8(mint.stdout).unwrap().trim().to_owned();
    assert_eq!(
        get(svc.addr, "/reports/export", &[&bearer(&minted)]).status,
        200
    );

    // The dev issuer performs no other authentication context.
    let r = request(
        svc.addr,
        "POST",
        "/oauth/token",
        &["Content-Type: application/x-www-form-urlencoded"],
        b"grant_type=client_credentials&scope=export:reports&acr_values=urn:example:hwk",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_request");
}

/// Where the embedded default keeps its signing key, and what it refuses to trust there.
#[cfg(unix)]
mod dev_key {
    use std::fs::Permissions;
    use std::io::Write as _;
    use std::os::unix::fs::{chown, symlink, MetadataExt as _, PermissionsExt as _};
    use std::path::{Path, PathBuf};
    use std::process::Child;

    use super::*;

    const KEY_FILE: &str = "reports_api-dev-key.p8";

    fn euid() -> u32 {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() }
    }

    /// Creates the key in `key_dir` as a user would first do: with `mint`.
    fn create_key(key_dir: &Path) -> PathBuf {
        let out = command(key_dir).arg("mint").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        key_dir.join(KEY_FILE)
    }

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    }

    /// Says why a test did not run. Straight to stderr: libtest would swallow `eprintln!` of a
    /// test that passes, and a skip must never look like a pass.
    fn skip(test: &str, why: &str) {
        let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
    }

    #[test]
    fn first_start_creates_the_key_for_this_user_alone_and_says_where() {
        let svc = start(&[]);
        let dir = std::fs::symlink_metadata(&svc.key_dir).unwrap();
        assert!(dir.is_dir());
        assert_eq!(dir.mode() & 0o7777, 0o700, "directory mode");
        assert_eq!(dir.uid(), euid());
        let path = svc.key_dir.join(KEY_FILE);
        let file = std::fs::symlink_metadata(&path).unwrap();
        assert!(file.is_file());
        assert_eq!(file.mode() & 0o7777, 0o600, "key file mode");
        assert_eq!(file.uid(), euid());
        let announced = format!("Signing key: {} ", path.display());
        assert!(
            svc.stdout.iter().any(|l| l.starts_with(&announced)),
            "{announced:?} is not in the startup output"
        );
    }

    #[test]
    fn key_file_open_to_group_or_others_is_refused_at_startup() {
        for mode in [0o640, 0o620, 0o604, 0o602] {
            let scratch = Scratch::new();
            let key = create_key(&scratch.key_dir());
            chmod(&key, mode);
            let line = refusal(command(&scratch.key_dir()));
            assert!(
                line.contains(&format!("{}: ", key.display()))
                    && line.contains(&format!("mode {mode:04o} gives group or others access")),
                "{mode:o}: {line}"
            );
        }
    }

    #[test]
    fn key_directory_open_to_group_or_others_is_refused_at_startup() {
        let scratch = Scratch::new();
        create_key(&scratch.key_dir());
        chmod(&scratch.key_dir(), 0o755);
        let line = refusal(command(&scratch.key_dir()));
        assert!(
            line.contains(&format!("directory {}: ", scratch.key_dir().display()))
                && line.contains("mode 0755 gives group or others access"),
            "{line}"
        );
    }

    #[test]
    fn key_file_or_directory_owned_by_another_user_is_refused_at_startup() {
        const TEST: &str = "key_file_or_directory_owned_by_another_user_is_refused_at_startup";
        if euid() != 0 {
            return skip(TEST, "only root can give a file to another user (chown)");
        }
        let nobody = 65534;
        let scratch = Scratch::new();
        let key = create_key(&scratch.key_dir());
        chown(&key, Some(nobody), None).unwrap();
        let line = refusal(command(&scratch.key_dir()));
        assert!(
            line.contains(&format!("file {}: ", key.display()))
                && line.contains("owned by uid 65534, not by this user"),
            "{line}"
        );

        let scratch = Scratch::new();
        create_key(&scratch.key_dir());
        chown(scratch.key_dir(), Some(nobody), None).unwrap();
        let line = refusal(command(&scratch.key_dir()));
        assert!(
            line.contains(&format!("directory {}: ", scratch.key_dir().display()))
                && line.contains("owned by uid 65534, not by this user"),
            "{line}"
        );
    }

    #[test]
    fn symlinked_key_file_or_directory_is_refused_at_startup() {
        let scratch = Scratch::new();
        let key = create_key(&scratch.key_dir());
        // The link leads to this user's own good key: only the link itself is wrong.
        let elsewhere = scratch.key_dir().join("elsewhere.p8");
        std::fs::rename(&key, &elsewhere).unwrap();
        symlink(&elsewhere, &key).unwrap();
        let line = refusal(command(&scratch.key_dir()));
        assert!(
            line.contains(&format!("file {}: it is a symlink", key.display())),
            "{line}"
        );

        std::fs::remove_file(&key).unwrap();
        std::fs::rename(&elsewhere, &key).unwrap();
        let linked = scratch.path().join("linked");
        symlink(scratch.key_dir(), &linked).unwrap();
        let line = refusal(command(&linked));
        assert!(
            line.contains(&format!("directory {}: it is a symlink", linked.display())),
            "{line}"
        );
        // The same directory and key, not through a link, are fine.
        create_key(&scratch.key_dir());
    }

    #[test]
    fn concurrent_first_runs_agree_on_one_key() {
        let scratch = Scratch::new();
        // Tokens name their issuer by address: the server must later listen where they say.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let bind = format!("127.0.0.1:{port}");
        // Eight first runs at once: several are likely to find no key and create one. Whoever
        // loses the race must sign with the winner's key, not its own.
        let minting: Vec<Child> = (0..8)
            .map(|_| {
                command(&scratch.key_dir())
                    .args(["mint", "read:reports"])
                    .env("BIND", &bind)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let tokens: Vec<String> = minting
            .into_iter()
            .map(|child| {
                let out = child.wait_with_output().unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                String::from_utf8(out.stdout).unwrap().trim().to_owned()
            })
            .collect();
        let key_dir = scratch.key_dir();
        let svc = start(&[
            ("BIND", &bind),
            ("REPORTS_API_DEV_KEY_DIR", key_dir.to_str().unwrap()),
        ]);
        for (i, token) in tokens.iter().enumerate() {
            assert_eq!(
                get(svc.addr, "/me", &[&bearer(token)]).status,
                200,
                "the token of mint #{i}"
            );
        }
        // No temporary file of any of them is left behind.
        let names: Vec<_> = std::fs::read_dir(&key_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [KEY_FILE], "{names:?}");
    }
}

/// A token from one of the embedded default's dev token endpoints.
fn dev_token_from(addr: SocketAddr, endpoint: &str, scope: &str) -> String {
    let r = request(
        addr,
        "POST",
        endpoint,
        &["Content-Type: application/x-www-form-urlencoded"],
        format!("grant_type=client_credentials&scope={scope}").as_bytes(),
    );
    assert_eq!(r.status, 200, "{endpoint}: {}", r.text());
    r.json()["access_token"].as_str().unwrap().to_owned()
}

/// Issue 21 on the flagship: the embedded default runs two dev issuers, each with its own
/// key, JWKS and token endpoint; `/partner/reports` is for the partners' tokens only.
#[test]
fn the_embedded_default_runs_two_issuers_on_request() {
    let svc = start(&[("REPORTS_API_DEV_PARTNERS", "1")]);
    let addr = svc.addr;
    let staff = dev_token_from(addr, "/oauth/token", "read:reports");
    let partner = dev_token_from(addr, "/partners/oauth/token", "read:reports");
    let partner_bare = dev_token_from(addr, "/partners/oauth/token", "");
    // Either issuer's token serves routes that name none.
    assert_eq!(get(addr, "/reports", &[&bearer(&staff)]).status, 200);
    assert_eq!(get(addr, "/reports", &[&bearer(&partner)]).status, 200);
    // The partners' route: their token with the scope; staff's is 403 whatever its scopes.
    let r = get(addr, "/partner/reports", &[&bearer(&partner)]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()[0]["title"], "Quarterly numbers");
    let r = get(addr, "/partner/reports", &[&bearer(&staff)]);
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(!r.challenge().contains("scope=\""), "{}", r.challenge());
    let r = get(addr, "/partner/reports", &[&bearer(&partner_bare)]);
    assert_eq!(r.status, 403);
    assert!(r.challenge().contains("scope=\"read:reports\""));
    // Two keys: each issuer publishes its own.
    let staff_kid = get(addr, "/.well-known/jwks.json", &[]).json()["keys"][0]["kid"].clone();
    let partners_kid =
        get(addr, "/partners/.well-known/jwks.json", &[]).json()["keys"][0]["kid"].clone();
    assert_ne!(staff_kid, partners_kid);
    // RFC 9728: both authorization servers.
    let meta = get(addr, "/.well-known/oauth-protected-resource", &[]).json();
    assert_eq!(
        meta["authorization_servers"],
        json!([format!("http://{addr}"), format!("http://{addr}/partners")])
    );
    // OpenAPI: a scheme per issuer, and the partners' route names theirs only.
    let doc = get(addr, "/openapi.json", &[]).json();
    assert_eq!(
        doc["paths"]["/partner/reports"]["get"]["security"],
        json!([{ "partners": ["read:reports"] }])
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["partners"]["flows"]["clientCredentials"]["tokenUrl"],
        format!("http://{addr}/partners/oauth/token")
    );
    // Readiness per issuer.
    let r = get(addr, "/ready", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["issuers"],
        json!({ "staff": true, "partners": true })
    );
    // The quickstart's partner commands work as printed.
    let curls: Vec<&String> = svc
        .stdout
        .iter()
        .filter(|l| l.starts_with("curl ") && l.contains("/partner/reports"))
        .collect();
    assert_eq!(curls.len(), 2, "{:?}", svc.stdout);
    let printed = token_from_curl(curls[0]);
    assert_eq!(
        get(addr, "/partner/reports", &[&bearer(&printed)]).status,
        200
    );
    assert_eq!(
        get(
            addr,
            "/partner/reports",
            &[&bearer(&token_from_curl(curls[1]))]
        )
        .status,
        403
    );
    // `mint --partners` signs with the partners' key.
    let mint = command(&svc.key_dir)
        .args(["mint", "--partners", "read:reports"])
        .env("BIND", addr.to_string())
        .output()
        .unwrap();
    assert!(
        mint.status.success(),
        "{}",
        String::from_utf8_lossy(&mint.stderr)
    );
    let minted = String::from_utf8(mint.stdout).unwrap().trim().to_owned();
    assert_eq!(
        get(addr, "/partner/reports", &[&bearer(&minted)]).status,
        200
    );
    // Each issuer revokes its own tokens (RFC 7009), refused from the next request on; the
    // other's endpoint leaves a token alone (an attack pass found the partners' tokens
    // could not be revoked at all: 200 from /oauth/revoke, still accepted).
    let form = |token: &str| format!("token={token}");
    let post = |path: &str, body: String| {
        request(
            addr,
            "POST",
            path,
            &["Content-Type: application/x-www-form-urlencoded"],
            body.as_bytes(),
        )
    };
    assert_eq!(post("/oauth/revoke", form(&partner)).status, 200);
    assert_eq!(
        get(addr, "/partner/reports", &[&bearer(&partner)]).status,
        200
    );
    assert_eq!(post("/partners/oauth/revoke", form(&staff)).status, 200);
    assert_eq!(get(addr, "/reports", &[&bearer(&staff)]).status, 200);
    assert_eq!(post("/partners/oauth/revoke", form(&partner)).status, 200);
    let r = get(addr, "/partner/reports", &[&bearer(&partner)]);
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(r.challenge().contains("revoked"), "{}", r.challenge());
    assert_eq!(get(addr, "/reports", &[&bearer(&staff)]).status, 200);

    // Who wrote a report is the subject *and* its issuer: both dev issuers name their
    // clients `dev-client`, yet the partners' is not staff's (a `sub` is unique only within
    // its issuer), and the partners' `roles` claim grants nothing here.
    let staff_writer = dev_token_from(addr, "/oauth/token", "read:reports write:reports");
    let partner_writer =
        dev_token_from(addr, "/partners/oauth/token", "read:reports write:reports");
    let r = request(
        addr,
        "POST",
        "/reports",
        &["Content-Type: application/json", &bearer(&staff_writer)],
        br#"{"title":"staff only"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_u64().unwrap();
    let titles = |token: &str| -> Vec<String> {
        let r = get(addr, "/reports/public", &[&bearer(token)]);
        assert_eq!(r.status, 200);
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(titles(&staff_writer).contains(&"staff only".to_owned()));
    assert!(!titles(&partner_writer).contains(&"staff only".to_owned()));
    let partner_admin = partners_token_with_roles(&svc, &["reports-admin"]);
    for token in [&partner_writer, &partner_admin] {
        let r = request(
            addr,
            "DELETE",
            &format!("/reports/{id}"),
            &[&bearer(token)],
            b"",
        );
        assert_eq!(r.status, 404, "{}", r.text());
    }
    let r = request(
        addr,
        "DELETE",
        &format!("/reports/{id}"),
        &[&bearer(&staff_writer)],
        b"",
    );
    assert_eq!(r.status, 204, "{}", r.text());
}

/// A token of the embedded default's second (partners) issuer, signed with its dev key, with
/// `write:reports` and these roles.
fn partners_token_with_roles(svc: &common::example::Service, roles: &[&str]) -> String {
    let pkcs8 = std::fs::read(svc.key_dir.join("reports_api-dev-partners-key.p8")).unwrap();
    let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
    header.kid = Some("reports-api-dev-partners".into());
    header.typ = Some("at+jwt".into());
    let mut claims = claims("read:reports write:reports");
    claims["iss"] = json!(format!("http://{}/partners", svc.addr));
    claims["sub"] = json!("dev-client");
    claims["jti"] = json!(format!("partner-admin-{}", now()));
    claims["roles"] = json!(roles);
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(&pkcs8),
    )
    .unwrap()
}

/// Several real providers from the environment (`AUTH_ISSUERS`), each with its own key
/// server on 127.0.0.1: each one's tokens accepted, an untrusted one refused without a fetch,
/// one provider down at startup while the other serves, recovery and rotation without a
/// restart.
#[test]
fn several_issuers_from_the_environment() {
    use endpoint_auth::testing::TestIssuer;
    use endpoint_auth::ScopeInfo;
    const SCOPES: &[ScopeInfo] = &[ScopeInfo::new("read:reports", "Read reports")];
    let staff = TestIssuer::new(SCOPES).audience("reports-api").serve();
    let partners = TestIssuer::new(SCOPES).audience("partners-api").serve();
    let stranger = TestIssuer::new(SCOPES).audience("reports-api").serve();
    let list = format!(
        "staff={},partners={}",
        staff.issuer_url(),
        partners.issuer_url()
    );
    // The partners' provider is down when the service starts.
    partners.fail_with(500);
    // Partners' keys from an explicit JWKS URL, their own audience; staff's by discovery.
    let partners_jwks = partners.server().url("/jwks.json");
    let svc = start(&[
        ("AUTH_ISSUERS", &list),
        ("AUTH_JWKS_URL_PARTNERS", &partners_jwks),
        ("AUTH_AUDIENCE_PARTNERS", "partners-api"),
    ]);
    let addr = svc.addr;
    let staff_read = staff.token().scopes(["read:reports"]).sign();
    let partner_read = partners.token().scopes(["read:reports"]).sign();
    let stranger_read = stranger.token().scopes(["read:reports"]).sign();
    // Staff are served while partners' provider is down; partners' tokens get 503.
    assert_eq!(
        get(addr, "/reports", &[&bearer(staff_read.as_str())]).status,
        200
    );
    let r = get(addr, "/reports", &[&bearer(partner_read.as_str())]);
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.header("retry-after").is_some());
    // Ready while any provider can be served, and says which.
    let r = get(addr, "/ready", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["issuers"],
        json!({ "staff": true, "partners": false })
    );
    // An untrusted issuer: 401, and never contacted.
    let r = get(addr, "/reports", &[&bearer(stranger_read.as_str())]);
    assert_eq!(r.status, 401);
    assert!(r.challenge().contains("error=\"invalid_token\""));
    assert_eq!(
        stranger.server().total_hits(),
        0,
        "an untrusted issuer was contacted"
    );
    // Partners' provider comes back: served without a restart.
    partners.recover();
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(addr, "/reports", &[&bearer(partner_read.as_str())]).status != 200 {
        assert!(Instant::now() < deadline, "partners never recovered");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        get(addr, "/partner/reports", &[&bearer(partner_read.as_str())]).status,
        200
    );
    assert_eq!(
        get(addr, "/partner/reports", &[&bearer(staff_read.as_str())]).status,
        403
    );
    // The partners' JWKS came from the explicit URL, never from discovery.
    assert_eq!(
        partners.server().hits("/.well-known/openid-configuration"),
        0
    );
    // A rotation at partners: the new key is fetched on its first token, no restart.
    partners.rotate();
    let rotated = partners.token().scopes(["read:reports"]).sign();
    let r = get(addr, "/partner/reports", &[&bearer(rotated.as_str())]);
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn several_issuers_misconfigured_fail_fast_with_one_line() {
    let scratch = Scratch::new();
    for (env, expect) in [
        (
            vec![
                ("AUTH_ISSUERS", "a=https://a.example/"),
                ("AUTH_ISSUER", "https://b.example/"),
            ],
            "not both",
        ),
        (vec![("AUTH_ISSUERS", "https://a.example/")], "not name=iss"),
        (
            vec![("AUTH_ISSUERS", "a b=https://a.example/")],
            "the name is",
        ),
        (
            vec![
                ("AUTH_ISSUERS", "a=https://a.example/"),
                ("AUTH_JWKS_URL", "https://a.example/jwks"),
            ],
            "AUTH_JWKS_URL_<NAME>",
        ),
        (
            vec![("AUTH_ISSUERS", "a=https://a.example/,b=https://a.example/")],
            "trusted twice",
        ),
    ] {
        let mut cmd = command(&scratch.key_dir());
        cmd.envs(env.iter().copied());
        let line = refusal(cmd);
        assert!(line.contains(expect), "{env:?}: {line}");
    }
}

/// A dev token from the embedded issuer's token endpoint.
fn dev_token(addr: SocketAddr, scope: &str) -> String {
    dev_token_from(addr, "/oauth/token", scope)
}

/// `POST /oauth/revoke` (RFC 7009 form body).
fn revoke(addr: SocketAddr, body: &str) -> Response {
    request(
        addr,
        "POST",
        "/oauth/revoke",
        &["Content-Type: application/x-www-form-urlencoded"],
        body.as_bytes(),
    )
}

/// Issue 22 on the flagship: the embedded issuer revokes its own tokens (RFC 7009), and the
/// service refuses a revoked one from the next request on; the quickstart shows how.
#[test]
fn a_revoked_dev_token_is_refused_from_the_next_request() {
    let svc = start(&[]);
    let (token, other) = (
        dev_token(svc.addr, "read:reports"),
        dev_token(svc.addr, "read:reports"),
    );
    assert_eq!(get(svc.addr, "/reports", &[&bearer(&token)]).status, 200);
    let r = revoke(
        svc.addr,
        &format!("token={token}&token_type_hint=access_token"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = get(svc.addr, "/reports", &[&bearer(&token)]);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.challenge(),
        "Bearer realm=\"reports-api\", error=\"invalid_token\", error_description=\"the access token has been revoked\", resource_metadata=\"".to_owned()
            + &format!("http://{}/.well-known/oauth-protected-resource\"", svc.addr)
    );
    // Every token has an id of its own: revoking one revokes no other.
    assert_eq!(get(svc.addr, "/reports", &[&bearer(&other)]).status, 200);
    // RFC 7009 §2.2: unknown or invalid tokens are 200 too; no token at all is a bad request.
    assert_eq!(revoke(svc.addr, "token=not-a-token").status, 200);
    assert_eq!(revoke(svc.addr, &format!("token={token}")).status, 200);
    let r = revoke(svc.addr, "");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_request");
    // The quickstart revokes its read-only token, the one of its first command.
    let curls: Vec<&String> = svc
        .stdout
        .iter()
        .filter(|l| l.starts_with("curl "))
        .collect();
    let printed = curls
        .iter()
        .find_map(|l| l.split("/oauth/revoke -d 'token=").nth(1))
        .expect("a revocation command in the quickstart");
    assert_eq!(printed.trim_end_matches('\''), token_from_curl(curls[0]));
}

/// `AUTH_REVOCATION_REDIS_URL`: revocations live in the shared store, so they outlive the
/// instance that made them: a new instance (same key, same address) still refuses the token.
#[test]
fn revocations_in_redis_outlive_the_instance_that_made_them() {
    let Ok(url) = std::env::var("ENDPOINT_AUTH_TEST_REDIS_URL") else {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED revocations_in_redis_outlive_the_instance_that_made_them: \
             ENDPOINT_AUTH_TEST_REDIS_URL is not set (.ci/run starts a Redis/Valkey server and sets it)"
        );
        return;
    };
    let keys = Scratch::new();
    let key_dir = keys.key_dir().display().to_string();
    let env = [
        ("AUTH_REVOCATION_REDIS_URL", url.as_str()),
        ("REPORTS_API_DEV_KEY_DIR", key_dir.as_str()),
    ];
    let first = start(&env);
    let addr = first.addr;
    let (revoked, kept) = (
        dev_token(addr, "read:reports"),
        dev_token(addr, "read:reports"),
    );
    assert_eq!(revoke(addr, &format!("token={revoked}")).status, 200);
    assert_eq!(get(addr, "/reports", &[&bearer(&revoked)]).status, 401);
    drop(first);

    let bind = addr.to_string();
    let second = start(&[env[0], env[1], ("BIND", bind.as_str())]);
    assert_eq!(second.addr, addr);
    let r = get(addr, "/reports", &[&bearer(&revoked)]);
    assert_eq!(r.status, 401);
    assert!(
        r.challenge().contains("has been revoked"),
        "{}",
        r.challenge()
    );
    assert_eq!(get(addr, "/reports", &[&bearer(&kept)]).status, 200);
}

/// Issue 18 on the flagship: the route audit is printed at startup, every route is declared,
/// and the service is built with `strict_routes`, so a route added without a declaration
/// stops it from starting (and fails this test, and every other one here).
#[test]
fn the_route_audit_is_printed_at_startup_with_every_route_declared() {
    let svc = start(&[]);
    let header = svc
        .stdout
        .iter()
        .position(|l| l.starts_with("ROUTE ") && l.contains("DECLARATION"))
        .unwrap_or_else(|| panic!("no audit table in {:?}", svc.stdout));
    let summary = svc.stdout[header..]
        .iter()
        .find(|l| l.contains(" routes, "))
        .expect("the audit's summary line");
    let rows = &svc.stdout[header + 1..];
    let rows: Vec<&String> = rows
        .iter()
        .take_while(|l| !l.contains(" routes, "))
        .collect();
    assert!(
        summary.ends_with(" declared, 0 UNDECLARED"),
        "{summary}\n{:#?}",
        rows
    );
    assert!(
        !svc.stdout.iter().any(|l| l.starts_with("not seen:")),
        "{:#?}",
        svc.stdout
    );
    // Every route the service serves is in the table, with its declaration.
    for (route, declaration) in [
        ("GET /health ", "public (liveness probe)"),
        ("GET /reports ", "requires(scope = \"read:reports\")"),
        ("DELETE /reports/{id} ", "check = author_or_admin"),
        ("GET /partner/reports ", "issuer = \"partners\""),
        ("GET /openapi.json ", "public"),
        ("GET /metrics ", "public"),
        (
            "GET /.well-known/oauth-protected-resource",
            "public (RFC 9728",
        ),
        ("POST /oauth/token ", "public"),
        ("POST /oauth/revoke ", "public"),
    ] {
        assert!(
            rows.iter()
                .any(|r| r.starts_with(route) && r.contains(declaration)),
            "{route} with {declaration} not in\n{}",
            rows.iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    // The table's count is the number of rows.
    assert!(summary.starts_with(&format!("{} routes, {} declared", rows.len(), rows.len())));
    // A path no route serves answers 401 before anything (deny by default).
    assert_eq!(get(svc.addr, "/not-a-route", &[]).status, 401);
}
