//! A real HTTP server on 127.0.0.1 for tests of remote keys: it serves a reply per path,
//! counts requests per path, and can be slow, broken, hanging or stopped. Plain threads, no
//! async runtime, so it works under any test harness.
//!
//! [`TestIssuer::serve`](super::TestIssuer::serve) runs one that publishes the issuer's
//! discovery document and JWKS; use a `KeyServer` directly for documents of your own.
//!
//! ```
//! # extern crate endpoint_auth_runtime as endpoint_auth;
//! use endpoint_auth::testing::server::{KeyServer, Reply};
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
    listener: Listener,
    state: Arc<Mutex<State>>,
}

/// What the kit's servers share: a non-blocking accept loop on its own thread, one thread per
/// connection (`handle`), and a stop that joins the loop, after which connections are refused.
pub(super) struct Listener {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Listener {
    /// Listens on `addr`; `who` names the server in the panic when it cannot be bound.
    pub(super) fn start<H>(who: &str, addr: SocketAddr, handle: H) -> Listener
    where
        H: Fn(TcpStream) + Clone + Send + 'static,
    {
        let listener =
            TcpListener::bind(addr).unwrap_or_else(|e| panic!("{who}: bind {addr}: {e}"));
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("bound address");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let handle = handle.clone();
                        std::thread::spawn(move || {
                            stream.set_nonblocking(false).ok();
                            stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
                            handle(stream)
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Listener {
            addr,
            stop,
            thread: Mutex::new(Some(thread)),
        }
    }

    pub(super) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops listening (idempotent).
    pub(super) fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for KeyServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyServer")
            .field("addr", &self.listener.addr())
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
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let listener = Listener::start("KeyServer", addr, move |stream| handle(stream, &st));
        KeyServer { listener, state }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr(), path)
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
        self.listener.stop();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn handle(mut stream: TcpStream, state: &Mutex<State>) {
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
