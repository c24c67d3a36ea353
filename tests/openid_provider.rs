//! Interoperability with a real OpenID Provider: panva's node-oidc-provider (OpenID
//! Certified), run by `node` on 127.0.0.1 from `tests/op/provider.mjs`. Its discovery
//! document, JWKS, token endpoint (client credentials, RFC 8707 resources, RFC 9068 JWT
//! access tokens), introspection (RFC 7662) and revocation (RFC 7009) are the provider's own;
//! the service is configured the way the README's "Remote keys" and "Introspection" sections
//! say, and called over real HTTP with the tokens the provider issued.
//!
//! Needs `node` on the PATH and the provider installed: `npm ci --prefix tests/op` (`.ci/run`
//! does it). Without either, each test says SKIPPED on stderr and returns.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::{get, post, web, HttpResponse};
use base64::Engine as _;
use common::{bearer, get, request, serve_wrapped, Response};
use endpoint_auth::introspection::Introspection;
use endpoint_auth::testing::{
    assert_insufficient_scope, assert_invalid_token, assert_unauthorized, assert_unavailable,
};
use endpoint_auth::{requires, AuthConfig, Principal};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
    "write:reports" => "Write reports",
}

const REALM: &str = "reports-api";
const AUDIENCE: &str = "reports-api";

#[requires(scope = "read:reports")]
#[get("/reports")]
async fn reports(caller: Principal) -> HttpResponse {
    let client = caller.claims().get("client_id").and_then(|v| v.as_str());
    HttpResponse::Ok().body(format!(
        "sub={} client_id={} iss={}",
        caller.subject().unwrap_or_default(),
        client.unwrap_or_default(),
        caller.issuer().unwrap_or_default(),
    ))
}

#[requires(scope = "write:reports")]
#[post("/reports")]
async fn create_report(body: web::Json<serde_json::Value>) -> HttpResponse {
    HttpResponse::Created().json(body.into_inner())
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(reports).service(create_report);
}

/// The provider's directory, or `None` after saying why the calling test is skipped.
fn provider_dir(test: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/op");
    let installed = dir
        .join("node_modules/oidc-provider/package.json")
        .is_file();
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if installed && node {
        return Some(dir);
    }
    let why = if node {
        "the provider is not installed (`npm ci --prefix tests/op`; .ci/run does it)"
    } else {
        "`node` is not on the PATH (Debian's nodejs package; then `npm ci --prefix tests/op`)"
    };
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED {test}: no real OpenID Provider to test against: {why}"
    );
    None
}

/// node-oidc-provider running `provider.mjs`, killed on drop.
struct Provider {
    child: Child,
    addr: SocketAddr,
    issuer: String,
}

impl Provider {
    /// Starts the provider on `port` (0: a free one) with new signing keys of `generation`.
    fn start(dir: &Path, port: u16, generation: u32) -> Provider {
        Provider::spawn(dir, &[port.to_string(), generation.to_string()])
    }

    /// Starts the provider on `port` with the keys kept in `keyfile` (created by the first
    /// start): the same provider each time.
    fn start_keeping(dir: &Path, port: u16, keyfile: &Path) -> Provider {
        let keyfile = keyfile.to_str().unwrap().to_owned();
        Provider::spawn(dir, &[port.to_string(), "1".into(), keyfile])
    }

    fn spawn(dir: &Path, args: &[String]) -> Provider {
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("read the provider's first line");
        // The provider prints notices later on (first use of a default policy): keep the pipe
        // drained and open, or its next write fails and takes the request with it.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let issuer = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("the provider did not start: {line:?}"))
            .to_owned();
        let addr = issuer
            .strip_prefix("http://")
            .unwrap()
            .parse()
            .expect("issuer host:port");
        Provider {
            child,
            addr,
            issuer,
        }
    }

    /// A token from the provider's token endpoint: client credentials of `svc`, for
    /// `resource` (`es256`, `rs256` or `opaque`, see provider.mjs) and `scope`.
    fn token(&self, resource: &str, scope: &str) -> String {
        let body = format!(
            "grant_type=client_credentials&scope={}&resource=https%3A%2F%2Freports.example%2F{resource}",
            scope.replace(':', "%3A").replace(' ', "+")
        );
        let answer = self.post("/token", "svc:svc-secret", &body);
        assert_eq!(answer.status, 200, "token endpoint: {}", answer.text());
        let json = answer.json();
        assert_eq!(json["token_type"], "Bearer");
        json["access_token"].as_str().unwrap().to_owned()
    }

    /// Revokes `token` at the provider's RFC 7009 endpoint (as the client it was issued to).
    fn revoke(&self, token: &str) {
        let answer = self.post(
            "/token/revocation",
            "svc:svc-secret",
            &format!("token={token}"),
        );
        assert_eq!(answer.status, 200, "revocation endpoint: {}", answer.text());
    }

    fn post(&self, path: &str, client: &str, form: &str) -> Response {
        let basic = base64::engine::general_purpose::STANDARD.encode(client);
        request(
            self.addr,
            "POST",
            path,
            &[
                &format!("Authorization: Basic {basic}"),
                "Content-Type: application/x-www-form-urlencoded",
            ],
            form.as_bytes(),
        )
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The README's remote-keys configuration for `issuer`: keys by OIDC discovery.
fn discovering(issuer: &str) -> endpoint_auth::AuthConfigBuilder {
    AuthConfig::builder()
        .realm(REALM)
        .issuer(issuer)
        .audience(AUDIENCE)
        .oidc_discovery()
}

/// A port nothing listens on right now (taken and released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `GET /reports` with `token` until it is answered 200 (or `limit` passes).
fn until_ok(addr: SocketAddr, token: &str, limit: Duration) -> Response {
    let deadline = Instant::now() + limit;
    loop {
        let resp = get(addr, "/reports", &[&bearer(token)]);
        if resp.status == 200 || Instant::now() > deadline {
            return resp;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_providers_jwt_access_tokens_are_accepted_by_discovery() {
    let Some(dir) = provider_dir("the_providers_jwt_access_tokens_are_accepted_by_discovery")
    else {
        return;
    };
    let op = Provider::start(&dir, 0, 1);
    let service = serve_wrapped(discovering(&op.issuer).build().unwrap(), routes);

    for resource in ["es256", "rs256"] {
        let reader = op.token(resource, "read:reports");
        let resp = get(service.addr, "/reports", &[&bearer(&reader)]);
        assert_eq!(resp.status, 200, "{resource}: {}", resp.text());
        assert_eq!(
            resp.text(),
            format!("sub=svc client_id=svc iss={}", op.issuer),
            "{resource}"
        );

        // A valid token without the scope: 403 with the scope that would help.
        let resp = request(
            service.addr,
            "POST",
            "/reports",
            &[&bearer(&reader), "Content-Type: application/json"],
            b"{\"title\":\"q3\"}",
        );
        assert_insufficient_scope(resp.raw(), "write:reports");

        let writer = op.token(resource, "read:reports write:reports");
        let resp = request(
            service.addr,
            "POST",
            "/reports",
            &[&bearer(&writer), "Content-Type: application/json"],
            b"{\"title\":\"q3\"}",
        );
        assert_eq!(resp.status, 201, "{resource}: {}", resp.text());

        // The provider's token with one signature byte changed.
        let mut forged = reader.into_bytes();
        let last = forged.len() - 2;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_invalid_token(get(service.addr, "/reports", &[&bearer(&forged)]).raw());
    }

    // No token: the challenge without an error code, before the JSON body is read.
    let resp = request(service.addr, "POST", "/reports", &[], b"{not json");
    assert_unauthorized(resp.raw());
}

#[test]
fn a_token_for_another_audience_of_the_same_provider_is_refused() {
    let Some(dir) = provider_dir("a_token_for_another_audience_of_the_same_provider_is_refused")
    else {
        return;
    };
    let op = Provider::start(&dir, 0, 1);
    let service = serve_wrapped(
        discovering(&op.issuer)
            .audience("another-api")
            .build()
            .unwrap(),
        routes,
    );
    // `.audience` adds one: the service accepts both; a builder with only another-api refuses.
    let strict = serve_wrapped(
        AuthConfig::builder()
            .realm(REALM)
            .issuer(&op.issuer)
            .audience("another-api")
            .oidc_discovery()
            .build()
            .unwrap(),
        routes,
    );
    let token = op.token("es256", "read:reports");
    assert_eq!(
        get(service.addr, "/reports", &[&bearer(&token)]).status,
        200
    );
    let challenge = assert_invalid_token(get(strict.addr, "/reports", &[&bearer(&token)]).raw());
    assert!(
        challenge
            .param("error_description")
            .unwrap_or_default()
            .contains("audience"),
        "{challenge:?}"
    );
}

#[test]
fn a_key_the_provider_rotates_in_is_accepted_on_its_first_request() {
    let Some(dir) = provider_dir("a_key_the_provider_rotates_in_is_accepted_on_its_first_request")
    else {
        return;
    };
    let op = Provider::start(&dir, 0, 1);
    let port = op.addr.port();
    let service = serve_wrapped(discovering(&op.issuer).build().unwrap(), routes);
    let old = op.token("es256", "read:reports");
    assert_eq!(get(service.addr, "/reports", &[&bearer(&old)]).status, 200);

    // The provider restarts with new keys (`es-2`, `rs-2`) on the same address.
    drop(op);
    let op = Provider::start(&dir, port, 2);
    for resource in ["es256", "rs256"] {
        let new = op.token(resource, "read:reports");
        let resp = get(service.addr, "/reports", &[&bearer(&new)]);
        assert_eq!(
            resp.status,
            200,
            "{resource}, first request: {}",
            resp.text()
        );
    }
    // The old key is no longer published: a token it signed is refused from now on.
    assert_invalid_token(get(service.addr, "/reports", &[&bearer(&old)]).raw());
}

#[test]
fn the_service_starts_while_the_provider_is_down_and_recovers() {
    let Some(dir) = provider_dir("the_service_starts_while_the_provider_is_down_and_recovers")
    else {
        return;
    };
    let keyfile =
        std::env::temp_dir().join(format!("endpoint-auth-op-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&keyfile);
    let port = free_port();
    // A token the provider issued, then the provider goes away.
    let op = Provider::start_keeping(&dir, port, &keyfile);
    let token = op.token("es256", "read:reports");
    drop(op);

    let service = serve_wrapped(
        discovering(&format!("http://127.0.0.1:{port}"))
            .build()
            .unwrap(),
        routes,
    );
    // The token may be fine: 503 + Retry-After, never 401, and again on the next request.
    for _ in 0..2 {
        assert_unavailable(get(service.addr, "/reports", &[&bearer(&token)]).raw());
    }

    // The same provider comes back: the service recovers without a restart.
    let op = Provider::start_keeping(&dir, port, &keyfile);
    let resp = until_ok(service.addr, &token, Duration::from_secs(20));
    assert_eq!(
        resp.status,
        200,
        "after the provider came back: {}",
        resp.text()
    );
    drop(op);
    let _ = std::fs::remove_file(&keyfile);
}

#[test]
fn opaque_tokens_are_introspected_at_the_provider_and_its_revocation_holds() {
    let Some(dir) =
        provider_dir("opaque_tokens_are_introspected_at_the_provider_and_its_revocation_holds")
    else {
        return;
    };
    let op = Provider::start(&dir, 0, 1);
    let auth = discovering(&op.issuer)
        .introspection(
            Introspection::discovered("api", "api-secret")
                .allow_insecure_http(true)
                .cache_for(Duration::from_secs(1)),
        )
        .build()
        .unwrap();
    let service = serve_wrapped(auth, routes);

    let reader = op.token("opaque", "read:reports");
    assert!(!reader.contains('.'), "an opaque token: {reader}");
    let resp = get(service.addr, "/reports", &[&bearer(&reader)]);
    assert_eq!(resp.status, 200, "{}", resp.text());
    // The provider's introspection answer for a client-credentials token names no `sub`
    // (its JWTs do): the handler sees what the answer says.
    assert_eq!(resp.text(), format!("sub= client_id=svc iss={}", op.issuer));
    let resp = request(
        service.addr,
        "POST",
        "/reports",
        &[&bearer(&reader), "Content-Type: application/json"],
        b"{}",
    );
    assert_insufficient_scope(resp.raw(), "write:reports");

    // Revoked at the provider: refused once the cached answer (1 s here) is gone.
    op.revoke(&reader);
    std::thread::sleep(Duration::from_millis(1100));
    let challenge = assert_invalid_token(get(service.addr, "/reports", &[&bearer(&reader)]).raw());
    assert!(
        challenge
            .param("error_description")
            .unwrap_or_default()
            .contains("not active"),
        "{challenge:?}"
    );

    // A made-up opaque token the provider never issued.
    assert_invalid_token(get(service.addr, "/reports", &[&bearer("made-up-token-123")]).raw());
}
