//! A real HTTP server on 127.0.0.1 for tests of remote keys: it serves a reply per path,
//! counts requests per path, and can be slow, broken, hanging or stopped. Plain threads, no
//! async runtime, so it works under any test harness.
//!
//! [`TestIssuer::serve`](super::TestIssuer::serve) runs one that publishes the issuer's
//! discovery document and JWKS; use a `KeyServer` directly for documents of your own.
//!
//! ```
//! use endpoint_auth_runtime::testing::server::{KeyServer, Reply};
//!
//! let server = KeyServer::start();
//! server.set("/jwks.json", Reply::Json(r#"{"keys":[]}"#.into(), Some(60)));
//! server.set("/old", Reply::Redirect(server.url("/jwks.json")));
//! assert!(server.url("/jwks.json").starts_with("http://127.0.0.1:"));
//! assert_eq!(server.hits("/jwks.json"), 0);
//! ```

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a path answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// 200 `application/json` with this body and an optional `Cache-Control: max-age`.
    Json(String, Option<u64>),
    /// This status with an empty body.
    Status(u16),
    /// Sleep, then answer.
    Slow(Duration, Box<Reply>),
    /// 302 to this location.
    Redirect(String),
    /// Accept the request and never answer (the connection is held for a minute).
    Hang,
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Reply>,
    hits: HashMap<String, usize>,
}

/// The server; it stops listening when dropped.
pub struct KeyServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for KeyServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl KeyServer {
    /// A server on an ephemeral port of 127.0.0.1; every path answers 404 until [`set`](Self::set).
    ///
    /// # Panics
    /// If 127.0.0.1 cannot be bound.
    pub fn start() -> KeyServer {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// A server on this address, e.g. the one a stopped server had (a provider back up).
    ///
    /// # Panics
    /// If the address cannot be bound.
    pub fn start_on(addr: SocketAddr) -> KeyServer {
        let listener =
            TcpListener::bind(addr).unwrap_or_else(|e| panic!("KeyServer: bind {addr}: {e}"));
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("bound address");
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
            thread: Mutex::new(Some(thread)),
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// What `path` answers from now on.
    pub fn set(&self, path: &str, reply: Reply) {
        self.lock().routes.insert(path.to_owned(), reply);
    }

    /// Requests received for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.lock().hits.get(path).copied().unwrap_or(0)
    }

    /// Requests received on any path.
    pub fn total_hits(&self) -> usize {
        self.lock().hits.values().sum()
    }

    /// Stops listening: later connections are refused.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
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
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
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
