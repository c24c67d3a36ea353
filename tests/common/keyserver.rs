//! A real HTTP key server on 127.0.0.1 for remote-key tests: serves documents per path,
//! counts requests per path, can be slow, broken, or stopped.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use endpoint_auth::{Algorithm, AuthConfig, RemoteSettings};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde_json::Value;

/// What a path answers.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with this body and optional `Cache-Control: max-age`.
    Json(String, Option<u64>),
    /// This status with an empty body.
    Status(u16),
    /// Sleep, then answer.
    Slow(Duration, Box<Reply>),
    /// 302 to this location.
    Redirect(String),
    /// Accept the request and never answer (until the server stops).
    Hang,
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Reply>,
    hits: HashMap<String, usize>,
}

pub struct KeyServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl KeyServer {
    pub fn start() -> KeyServer {
        Self::start_on("127.0.0.1:0".parse().unwrap())
    }

    /// A server on this address, e.g. the one a stopped server had (a provider back up).
    pub fn start_on(addr: SocketAddr) -> KeyServer {
        let listener = TcpListener::bind(addr).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !sp.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let st = st.clone();
                        std::thread::spawn(move || handle(stream, st));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        KeyServer {
            addr,
            state,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn set(&self, path: &str, reply: Reply) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_owned(), reply);
    }

    pub fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Requests received on any path.
    pub fn total_hits(&self) -> usize {
        self.state.lock().unwrap().hits.values().sum()
    }

    /// Stops listening: later connections are refused.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn handle(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    stream.set_nonblocking(false).ok();
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
    let reply = {
        let mut st = state.lock().unwrap();
        *st.hits.entry(path.clone()).or_default() += 1;
        st.routes.get(&path).cloned().unwrap_or(Reply::Status(404))
    };
    respond(&mut stream, reply);
}

fn respond(stream: &mut TcpStream, reply: Reply) {
    let out = match reply {
        Reply::Hang => {
            // Holds the connection open, reading nothing more, for longer than any timeout.
            std::thread::sleep(Duration::from_secs(60));
            return;
        }
        Reply::Redirect(location) => format!(
            "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
        Reply::Slow(d, inner) => {
            std::thread::sleep(d);
            return respond(stream, *inner);
        }
        Reply::Status(code) => {
            format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        }
        Reply::Json(body, max_age) => {
            let cc = max_age
                .map(|s| format!("Cache-Control: public, max-age={s}\r\n"))
                .unwrap_or_default();
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{cc}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
    };
    let _ = stream.write_all(out.as_bytes());
}

/// The public JWK of a test key, with `kid` and `alg`.
pub fn jwk(alg: Algorithm, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(&super::signing_key(alg), alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).unwrap()
}

/// A JWKS document of these JWKs.
pub fn jwks(keys: &[Value]) -> String {
    let set: JwkSet = serde_json::from_value(serde_json::json!({ "keys": keys })).unwrap();
    serde_json::to_string(&set).unwrap()
}

/// The tests' configuration with keys from the JWKS at `url`.
pub fn jwks_config(url: &str, settings: RemoteSettings) -> AuthConfig {
    AuthConfig::builder()
        .realm(super::REALM)
        .issuer(super::ISSUER)
        .audience(super::AUDIENCE)
        .jwks_url(url)
        .remote_settings(settings)
        .build()
        .unwrap()
}

/// The tests' configuration with keys found by discovery from `issuer`.
pub fn discovery_config(issuer: &str) -> AuthConfig {
    AuthConfig::builder()
        .realm(super::REALM)
        .issuer(issuer)
        .audience(super::AUDIENCE)
        .oidc_discovery()
        .build()
        .unwrap()
}

/// A discovery (OIDC / RFC 8414) metadata document naming `issuer` and `jwks_uri`.
pub fn metadata(issuer: &str, jwks_uri: &str) -> Reply {
    Reply::Json(
        serde_json::json!({ "issuer": issuer, "jwks_uri": jwks_uri }).to_string(),
        None,
    )
}
