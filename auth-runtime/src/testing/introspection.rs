//! A real RFC 7662 introspection endpoint on 127.0.0.1 for tests: it authenticates its
//! client (`client_secret_basic` or `client_secret_post`; wrong credentials: 401
//! `invalid_client`), answers from a table of tokens the test fills (an unknown token:
//! `{"active":false}`), counts requests, and can be slow, failing or stopped. Plain threads,
//! like [`KeyServer`](super::server::KeyServer), so it works under any test harness.
//!
//! ```
//! # extern crate endpoint_auth_runtime as endpoint_auth;
//! use endpoint_auth::testing::introspection::IntrospectionServer;
//! use serde_json::json;
//!
//! let server = IntrospectionServer::start("reports-api", "s3cret");
//! server.set("opaque-token-1", json!({ "active": true, "sub": "alice", "exp": 1_900_000_000 }));
//! assert!(server.url().starts_with("http://127.0.0.1:"));
//! assert_eq!(server.hits(), 0);
//! ```

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;

use super::server::Listener;

/// The path the endpoint answers on.
pub const INTROSPECTION_PATH: &str = "/introspect";

#[derive(Default)]
struct State {
    client_id: String,
    secret: String,
    tokens: HashMap<String, Value>,
    /// Bodies answered as they are, for what a `Value` cannot hold (a member named twice).
    raw: HashMap<String, String>,
    /// Answer every request with this status and an empty body (an outage).
    failing: Option<u16>,
    delay: Duration,
    hits: usize,
    /// Requests whose client authenticated with Basic / in the body / not at all or wrongly.
    basic: usize,
    post: usize,
    refused: usize,
}

/// The endpoint; it stops listening when dropped.
pub struct IntrospectionServer {
    listener: Listener,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for IntrospectionServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectionServer")
            .field("addr", &self.listener.addr())
            .finish_non_exhaustive()
    }
}

impl IntrospectionServer {
    /// An endpoint on an ephemeral port of 127.0.0.1 that accepts the client `client_id`
    /// with `secret`.
    ///
    /// # Panics
    /// If 127.0.0.1 cannot be bound.
    pub fn start(client_id: &str, secret: &str) -> IntrospectionServer {
        let state = Arc::new(Mutex::new(State {
            client_id: client_id.to_owned(),
            secret: secret.to_owned(),
            ..State::default()
        }));
        let st = state.clone();
        let listener = Listener::start(
            "IntrospectionServer",
            SocketAddr::from(([127, 0, 0, 1], 0)),
            move |stream| handle(stream, &st),
        );
        IntrospectionServer { listener, state }
    }

    /// `http://127.0.0.1:<port>/introspect`.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.listener.addr(), INTROSPECTION_PATH)
    }

    /// What the endpoint answers about `token` from now on (the JSON of RFC 7662 §2.2).
    pub fn set(&self, token: &str, response: Value) {
        self.lock().tokens.insert(token.to_owned(), response);
    }

    /// The endpoint answers `token` with exactly this body (200, `application/json`): for
    /// answers a well-behaved server would never give, such as a member named twice.
    pub fn set_raw(&self, token: &str, body: &str) {
        self.lock().raw.insert(token.to_owned(), body.to_owned());
    }

    /// Every request is answered with `status` and an empty body (`None`: normal answers).
    pub fn fail_with(&self, status: Option<u16>) {
        self.lock().failing = status;
    }

    /// Every answer waits this long first.
    pub fn delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    /// Introspection requests received (any path, any client).
    pub fn hits(&self) -> usize {
        self.lock().hits
    }

    /// Requests whose client authenticated with `client_secret_basic`.
    pub fn basic_hits(&self) -> usize {
        self.lock().basic
    }

    /// Requests whose client authenticated with `client_secret_post`.
    pub fn post_hits(&self) -> usize {
        self.lock().post
    }

    /// Requests refused with 401 `invalid_client`.
    pub fn refused_hits(&self) -> usize {
        self.lock().refused
    }

    /// Stops listening: later connections are refused.
    pub fn stop(&self) {
        self.listener.stop();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn handle(mut stream: TcpStream, state: &Mutex<State>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let form = parse_form(&String::from_utf8_lossy(&buf[head_end..head_end + length]));
    let (status, body) = {
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        st.hits += 1;
        let delay = st.delay;
        if !delay.is_zero() {
            drop(st);
            std::thread::sleep(delay);
            st = state.lock().unwrap_or_else(|e| e.into_inner());
        }
        answer(&mut st, &head, header("authorization"), &form)
    };
    let out = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(out.as_bytes());
}

fn answer(
    st: &mut State,
    head: &str,
    authorization: Option<String>,
    form: &HashMap<String, String>,
) -> (u16, String) {
    if let Some(status) = st.failing {
        return (status, String::new());
    }
    if !head.starts_with("POST ") || head.split(' ').nth(1) != Some(INTROSPECTION_PATH) {
        return (404, String::new());
    }
    let basic = authorization
        .as_deref()
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            Some((form_decode(id), form_decode(secret)))
        });
    let post = match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) => Some((id.clone(), secret.clone())),
        _ => None,
    };
    let good = |c: &Option<(String, String)>| {
        c.as_ref()
            .is_some_and(|(id, secret)| *id == st.client_id && *secret == st.secret)
    };
    // RFC 6749 §2.3: one method per request.
    let ok = match (&basic, &post) {
        (Some(_), None) if good(&basic) => {
            st.basic += 1;
            true
        }
        (None, Some(_)) if good(&post) => {
            st.post += 1;
            true
        }
        _ => false,
    };
    if !ok {
        st.refused += 1;
        return (401, r#"{"error":"invalid_client"}"#.to_owned());
    }
    let Some(token) = form.get("token") else {
        return (400, r#"{"error":"invalid_request"}"#.to_owned());
    };
    if let Some(body) = st.raw.get(token) {
        return (200, body.clone());
    }
    let response = st
        .tokens
        .get(token)
        .cloned()
        .unwrap_or_else(|| serde_json::json!({ "active": false }));
    (200, response.to_string())
}

fn parse_form(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((form_decode(k), form_decode(v)))
        })
        .collect()
}

fn form_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
