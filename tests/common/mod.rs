//! Test support: real keys, real signed tokens, a real actix-web server on 127.0.0.1, and a
//! raw HTTP/1.1 client that sends exactly the bytes a test asks for.
#![allow(dead_code)]

pub mod example;
pub mod keyserver;
pub mod revocation;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::{web, App, HttpServer};
use endpoint_auth::{Algorithm, AuthConfig, AuthConfigBuilder, Key};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{json, Value};

pub const REALM: &str = "test-api";
pub const ISSUER: &str = "https://issuer.test";
pub const AUDIENCE: &str = "reports-api";

pub fn key_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/keys")
        .join(name)
}

pub fn read_key(name: &str) -> Vec<u8> {
    std::fs::read(key_path(name)).unwrap_or_else(|e| panic!("test key {name}: {e}"))
}

pub fn hmac_secret() -> Vec<u8> {
    use base64::Engine as _;
    let text = String::from_utf8(read_key("hs256.secret")).unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap()
}

/// The six signing algorithms the tests exercise, with the file stem of their key pair.
pub const ALGS: [(Algorithm, &str); 6] = [
    (Algorithm::RS256, "rsa"),
    (Algorithm::PS256, "rsa2"),
    (Algorithm::ES256, "ec256"),
    (Algorithm::ES384, "ec384"),
    (Algorithm::EdDSA, "ed25519"),
    (Algorithm::HS256, "hs256"),
];

pub fn stem(alg: Algorithm) -> &'static str {
    ALGS.iter()
        .find(|(a, _)| *a == alg)
        .map(|(_, s)| *s)
        .expect("algorithm under test")
}

pub fn kid(alg: Algorithm) -> String {
    format!("{alg:?}").to_lowercase()
}

/// The public (verification) key for `alg`, with kid = the algorithm name in lowercase.
pub fn verification_key(alg: Algorithm) -> Key {
    let s = stem(alg);
    let key = match alg {
        Algorithm::RS256 | Algorithm::PS256 => {
            Key::rsa_pem(alg, &read_key(&format!("{s}-public.pem")))
        }
        Algorithm::ES256 | Algorithm::ES384 => {
            Key::ec_pem(alg, &read_key(&format!("{s}-public.pem")))
        }
        Algorithm::EdDSA => Key::ed25519_pem(&read_key(&format!("{s}-public.pem"))),
        Algorithm::HS256 => Key::hmac(alg, &hmac_secret()),
        _ => unreachable!(),
    };
    key.unwrap().with_kid(kid(alg))
}

pub fn signing_key(alg: Algorithm) -> EncodingKey {
    let s = stem(alg);
    let pem = || read_key(&format!("{s}-private.pem"));
    match alg {
        Algorithm::RS256 | Algorithm::PS256 => EncodingKey::from_rsa_pem(&pem()).unwrap(),
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(&pem()).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem()).unwrap(),
        Algorithm::HS256 => EncodingKey::from_secret(&hmac_secret()),
        _ => unreachable!(),
    }
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Claims of a good token: right issuer and audience, valid for 5 minutes.
pub fn claims(scope: &str) -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "client_id": "client-1",
        "iat": now(),
        "exp": now() + 300,
        "scope": scope,
    })
}

/// Signs `claims` with `alg`'s test key; header carries `kid` and `typ: at+jwt`.
pub fn mint(alg: Algorithm, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid(alg));
    header.typ = Some("at+jwt".into());
    mint_with_header(&header, claims)
}

pub fn mint_with_header(header: &Header, claims: &Value) -> String {
    jsonwebtoken::encode(header, claims, &signing_key(header.alg)).unwrap()
}

/// A token for `scope`, signed with RS256.
pub fn token(scope: &str) -> String {
    mint(Algorithm::RS256, &claims(scope))
}

/// A configuration accepting every test key.
pub fn builder() -> AuthConfigBuilder {
    let mut b = AuthConfig::builder()
        .realm(REALM)
        .issuer(ISSUER)
        .audience(AUDIENCE);
    for (alg, _) in ALGS {
        b = b.key(verification_key(alg));
    }
    b
}

/// A real actix-web server on 127.0.0.1 (ephemeral port), stopped on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let _ =
            std::thread::spawn(move || actix_web::rt::System::new().block_on(handle.stop(false)))
                .join();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs the App built by `$make` (a `Fn() -> App` expression) on 127.0.0.1:0 in its own
/// actix system thread, with 2 workers (or `$workers`).
macro_rules! spawn_server {
    ($make:expr) => {
        spawn_server!($make, 2)
    };
    ($make:expr, $workers:expr) => {{
        let (tx, rx) = mpsc::channel();
        let make = $make;
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(make)
                    .workers($workers)
                    .disable_signals()
                    .bind(("127.0.0.1", 0))
                    .expect("bind 127.0.0.1:0");
                let addr = server.addrs()[0];
                let server = server.run();
                tx.send((addr, server.handle())).unwrap();
                let _ = server.await;
            })
        });
        let (addr, handle) = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("server did not start");
        TestServer {
            addr,
            handle,
            thread: Some(thread),
        }
    }};
}

/// Serves `routes` with `auth` registered as users do, by `App::wrap` (or nothing registered
/// when `None`).
pub fn serve(auth: Option<AuthConfig>, routes: fn(&mut web::ServiceConfig)) -> TestServer {
    match auth {
        Some(auth) => serve_wrapped(auth, routes),
        None => spawn_server!(move || App::new().configure(routes)),
    }
}

/// Serves `routes` with `auth` registered by `App::app_data` only (the spelling that is
/// refused for remote keys).
pub fn serve_app_data(auth: AuthConfig, routes: fn(&mut web::ServiceConfig)) -> TestServer {
    spawn_server!(move || App::new().app_data(auth.clone()).configure(routes))
}

/// [`serve`] with one worker: every request meets the same per-thread token cache.
pub fn serve_one_worker(auth: AuthConfig, routes: fn(&mut web::ServiceConfig)) -> TestServer {
    spawn_server!(move || App::new().wrap(auth.clone()).configure(routes), 1)
}

/// Serves `routes` with `auth` registered by `App::wrap` (the middleware form).
pub fn serve_wrapped(auth: AuthConfig, routes: fn(&mut web::ServiceConfig)) -> TestServer {
    spawn_server!(move || App::new().wrap(auth.clone()).configure(routes))
}

/// A writer that keeps everything written to it, for capturing logs in tests.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Takes what was logged so far.
    pub fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
    /// What was logged so far, left in place (for tests that share the binary's buffer).
    pub fn peek(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
    /// The logged lines that contain `needle` (e.g. the URL of a test's own key server).
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.peek()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect()
    }
}

/// Installs a global TRACE subscriber writing into the returned buffer; every call in a test
/// binary returns the same buffer.
pub fn capture_logs() -> Captured {
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let writer = captured.clone();
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .init();
            captured
        })
        .clone()
}

/// A response as it came off the wire.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn header_count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }
    pub fn challenge(&self) -> &str {
        self.header("www-authenticate")
            .unwrap_or_else(|| panic!("no WWW-Authenticate in {self:?}"))
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// For the testing kit's assertions.
    pub fn raw(&self) -> endpoint_auth::testing::RawResponse {
        endpoint_auth::testing::RawResponse::new(
            self.status,
            self.headers.iter().map(|(n, v)| (n, v)),
            self.body.clone(),
        )
    }
}

/// Sends raw bytes (a full HTTP/1.1 request) and reads the response until the server closes.
pub fn send_raw(addr: SocketAddr, request: &[u8]) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response has a header block");
    let head = String::from_utf8(raw[..split].to_vec()).expect("response head is ASCII");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..eol]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 4 + size..];
    }
}

/// A request with `method`, `path`, extra header lines (`"Name: value"`) and a body.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &[u8],
) -> Response {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    send_raw(addr, &bytes)
}

pub fn get(addr: SocketAddr, path: &str, headers: &[&str]) -> Response {
    request(addr, "GET", path, headers, b"")
}

/// `Authorization: Bearer <token>`.
pub fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}")
}
