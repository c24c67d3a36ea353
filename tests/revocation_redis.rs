//! The shared revocation store (issue 22, feature `revocation-redis`) against a real Redis or
//! Valkey server: two service instances (two configurations, two apps, two stores) share one
//! server, so a token revoked through one is refused by the other; a server that is down is
//! 503 + `Retry-After` by default and served with the fail-open opt-in; the store reconnects
//! when the server comes back.
//!
//! `.ci/run` starts a server and sets `ENDPOINT_AUTH_TEST_REDIS_URL`; without it the tests that
//! need one say SKIPPED on stderr and return. The reconnection test starts servers of its
//! own (`ENDPOINT_AUTH_TEST_REDIS_SERVER`, else `redis-server` or `valkey-server` on the PATH).
//! The down-store tests need no server: they point at a closed port.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::{get, post, test, web, App, HttpResponse};
use common::revocation::{get_reports, now, token};
use endpoint_auth::revocation::{RedisRevocationStore, StoreUnavailable};
use endpoint_auth::testing::{
    assert_invalid_token, assert_unavailable, TestIssuer, TestRequestExt,
};
use endpoint_auth::{requires, Principal};

endpoint_auth::scopes! {
    "read:reports" => "Read reports",
}

const URL_VAR: &str = "ENDPOINT_AUTH_TEST_REDIS_URL";

#[requires(scope = "read:reports")]
#[get("/reports")]
async fn reports(caller: Principal) -> HttpResponse {
    HttpResponse::Ok().body(caller.subject().unwrap_or_default().to_owned())
}

/// Signs the caller's token out, for every instance that reads the store.
#[requires(scope = "read:reports")]
#[post("/sign-out")]
async fn sign_out(caller: Principal, store: web::Data<RedisRevocationStore>) -> HttpResponse {
    let token = caller.token();
    let Some(id) = token.token_id() else {
        return HttpResponse::BadRequest().finish();
    };
    match store.revoke(id, token.expires_at()).await {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

/// Says why a test is skipped, on the process's stderr itself: the test harness captures
/// `eprintln!` of passing tests, and a skip must never pass silently.
fn skipped(message: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {message}");
}

/// The server's URL, or `None` after saying why the calling test is skipped.
fn redis_url(test: &str) -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            skipped(format_args!(
                "{test}: {URL_VAR} is not set, so there is no Redis/Valkey server to test \
                 against (.ci/run starts one; locally: `redis-server --port 6390 --save ''` and \
                 {URL_VAR}=redis://127.0.0.1:6390)"
            ));
            None
        }
    }
}

/// Keys of this test run only: runs and tests sharing a server never see each other's.
fn prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("endpoint-auth-test:{}:{nanos}:{test}:", std::process::id())
}

/// One instance of the service: `$config` (with its own store handle) and `$store` for
/// signing out.
macro_rules! instance {
    ($config:expr, $store:expr) => {
        test::init_service(
            App::new()
                .wrap($config)
                .app_data(web::Data::new($store.clone()))
                .service(reports)
                .service(sign_out),
        )
        .await
    };
}

macro_rules! call {
    ($app:expr, $req:expr) => {
        test::call_service($app, $req.to_request()).await
    };
}

/// A port nothing listens on.
fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

#[actix_web::test]
async fn two_instances_sharing_a_store_see_each_others_revocations() {
    let Some(url) = redis_url("two_instances_sharing_a_store_see_each_others_revocations") else {
        return;
    };
    let issuer = TestIssuer::new(SCOPES);
    let keys = prefix("two-instances");
    let store_a = RedisRevocationStore::new(&url, &keys).unwrap();
    let store_b = RedisRevocationStore::new(&url, &keys).unwrap();
    let config_b = issuer
        .config()
        .revocation_check(store_b.clone())
        .build()
        .unwrap();
    let probe_b = config_b.clone();
    let a = instance!(
        issuer
            .config()
            .revocation_check(store_a.clone())
            .build()
            .unwrap(),
        store_a
    );
    let b = instance!(config_b, store_b);
    let (t, other) = (token(&issuer, "shared-1"), token(&issuer, "shared-2"));
    for _ in 0..3 {
        assert_eq!(call!(&b, get_reports(&t)).status(), 200);
    }
    assert_eq!(
        probe_b.cached_tokens(),
        1,
        "b serves the token from its cache"
    );

    let signing_out = test::TestRequest::post().uri("/sign-out").bearer(&t);
    assert_eq!(call!(&a, signing_out).status(), 204, "revoked through a");
    let challenge = assert_invalid_token(call!(&b, get_reports(&t)));
    assert!(challenge
        .param("error_description")
        .unwrap()
        .contains("revoked"));
    assert_invalid_token(call!(&a, get_reports(&t)));
    // And the other way round: b revokes, a refuses.
    assert_eq!(call!(&a, get_reports(&other)).status(), 200);
    let signing_out = test::TestRequest::post().uri("/sign-out").bearer(&other);
    assert_eq!(call!(&b, signing_out).status(), 204);
    assert_invalid_token(call!(&a, get_reports(&other)));
}

/// `revoke` keeps the id until `exp` plus the largest leeway, and the server forgets it then
/// by itself (`SET … EXAT`).
#[actix_web::test]
async fn a_revoked_id_is_kept_until_its_token_cannot_be_accepted_anyway() {
    let Some(url) = redis_url("a_revoked_id_is_kept_until_its_token_cannot_be_accepted_anyway")
    else {
        return;
    };
    let store = RedisRevocationStore::new(&url, prefix("expiry")).unwrap();
    let margin = endpoint_auth::revocation::KEEP_AFTER_EXPIRY.as_secs();
    // Expired 2 s short of the margin: kept for 2 more seconds.
    store.revoke("short", now() + 2 - margin).await.unwrap();
    store.revoke("long", now() + 600).await.unwrap();
    // An `exp` the verifier accepts but Redis's EXAT cannot hold (past year 9999, up to
    // u64::MAX): kept, never "cannot revoke".
    store.revoke("far", u64::MAX).await.unwrap();
    store.revoke("farther", 1 << 60).await.unwrap();
    assert!(store.contains("far").await.unwrap());
    assert!(store.contains("farther").await.unwrap());
    // Past the margin already: nothing to keep.
    store.revoke("gone", now() - margin - 1).await.unwrap();
    assert!(store.contains("short").await.unwrap());
    assert!(store.contains("long").await.unwrap());
    assert!(!store.contains("gone").await.unwrap());
    assert!(!store.contains("never").await.unwrap());
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert!(
        !store.contains("short").await.unwrap(),
        "forgotten by the server"
    );
    assert!(store.contains("long").await.unwrap());
}

#[actix_web::test]
async fn a_store_that_is_down_fails_closed_with_503_and_retry_after() {
    let issuer = TestIssuer::new(SCOPES);
    let store = RedisRevocationStore::new(&format!("redis://{}", closed_port()), "down:").unwrap();
    let app = instance!(
        issuer
            .config()
            .revocation_check(store.clone())
            .build()
            .unwrap(),
        store
    );
    let t = token(&issuer, "down-1");
    let started = Instant::now();
    assert_eq!(assert_unavailable(call!(&app, get_reports(&t))), 5);
    assert_eq!(assert_unavailable(call!(&app, get_reports(&t))), 5);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered within the store's timeout, not after retries: {:?}",
        started.elapsed()
    );
    // Revoking fails too, and says so.
    assert!(store.revoke("down-1", now() + 60).await.is_err());
}

#[actix_web::test]
async fn a_store_that_is_down_is_skipped_when_failing_open() {
    let issuer = TestIssuer::new(SCOPES);
    let store = RedisRevocationStore::new(&format!("redis://{}", closed_port()), "down:").unwrap();
    let app = instance!(
        issuer
            .config()
            .revocation_check(store.clone())
            .revocation_store_unavailable(StoreUnavailable::FailOpen)
            .build()
            .unwrap(),
        store
    );
    let r = call!(&app, get_reports(&token(&issuer, "open-1")));
    assert_eq!(r.status(), 200);
}

/// A server of this test's own, on a fixed port, that can be stopped and started again.
struct Server {
    bin: String,
    port: u16,
    child: Option<Child>,
}

impl Server {
    fn binary() -> Option<String> {
        let candidates = std::env::var("ENDPOINT_AUTH_TEST_REDIS_SERVER")
            .ok()
            .into_iter()
            .chain(["redis-server".to_owned(), "valkey-server".to_owned()]);
        candidates.into_iter().find(|bin| {
            Command::new(bin)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    }

    fn start(bin: String) -> Server {
        let port = closed_port().port();
        let mut server = Server {
            bin,
            port,
            child: None,
        };
        server.up();
        server
    }

    fn up(&mut self) {
        let child = Command::new(&self.bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.down();
    }
}

/// Down → 503; back → served again, and revocations written after it came back are seen.
/// (A restarted server without persistence has forgotten earlier revocations: that is the
/// deployment's to configure, not something the store can know.)
#[actix_web::test]
async fn the_store_reconnects_when_the_server_comes_back() {
    let Some(bin) = Server::binary() else {
        skipped(format_args!(
            "the_store_reconnects_when_the_server_comes_back: no redis-server or \
             valkey-server on the PATH (set ENDPOINT_AUTH_TEST_REDIS_SERVER to one; .ci/run \
             installs redis-server)"
        ));
        return;
    };
    let mut server = Server::start(bin);
    let issuer = TestIssuer::new(SCOPES);
    let store = RedisRevocationStore::new(&server.url(), "reconnect:").unwrap();
    let app = instance!(
        issuer
            .config()
            .revocation_check(store.clone())
            .build()
            .unwrap(),
        store
    );
    let (t, revoked) = (token(&issuer, "r-1"), token(&issuer, "r-2"));
    assert_eq!(call!(&app, get_reports(&t)).status(), 200);

    server.down();
    assert_unavailable(call!(&app, get_reports(&t)));
    assert_unavailable(call!(&app, get_reports(&t)));

    server.up();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = call!(&app, get_reports(&t)).status();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(Instant::now() < deadline, "no reconnection within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let signing_out = test::TestRequest::post().uri("/sign-out").bearer(&revoked);
    assert_eq!(call!(&app, signing_out).status(), 204);
    assert_invalid_token(call!(&app, get_reports(&revoked)));
    assert_eq!(call!(&app, get_reports(&t)).status(), 200);
}
