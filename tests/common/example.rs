//! The built `reports_api` example as a subprocess on an ephemeral port.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub fn example_binary() -> std::path::PathBuf {
    // tests run from target/<profile>/deps; cargo builds examples before running tests.
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("reports_api")
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new() -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "endpoint-auth-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir); // left over by an earlier run with this pid
        std::fs::create_dir(&dir).unwrap();
        Scratch(dir)
    }

    /// Where the example keeps its dev signing key (not created yet: the example creates it).
    pub fn key_dir(&self) -> PathBuf {
        self.0.join("endpoint-auth")
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The example, configured like `start` does but not started: the embedded default, on an
/// ephemeral loopback port, with its dev signing key in `key_dir`.
pub fn command(key_dir: &Path) -> Command {
    let mut cmd = Command::new(example_binary());
    cmd.env_remove("AUTH_ISSUER")
        .env_remove("AUTH_ISSUERS")
        .env_remove("REPORTS_API_DEV_PARTNERS")
        .env_remove("AUTH_JWKS_URL")
        .env_remove("AUTH_AUDIENCE")
        .env_remove("AUTH_REVOCATION_REDIS_URL")
        .env("BIND", "127.0.0.1:0")
        .env("REPORTS_API_DEV_KEY_DIR", key_dir);
    cmd
}

pub struct Service {
    pub child: Child,
    pub addr: SocketAddr,
    pub stdout: Vec<String>,
    /// The dev signing key's directory (in `scratch`, so no test shares or leaves a key).
    pub key_dir: PathBuf,
    _scratch: Scratch,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(env: &[(&str, &str)]) -> Service {
    let scratch = Scratch::new();
    let key_dir = scratch.key_dir();
    let mut cmd = command(&key_dir);
    cmd.envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd
        .spawn()
        .expect("reports_api example is built by cargo test");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = Vec::new();
    let mut addr = None;
    // The embedded default prints its quickstart after the listening line; read it too.
    let embedded = !env.iter().any(|(k, _)| k.starts_with("AUTH_ISSUER"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(a) = line.strip_prefix("reports_api listening on http://") {
            addr = Some(a.parse().unwrap());
        }
        let done = line.starts_with("More tokens:") || (addr.is_some() && !embedded);
        stdout.push(line);
        if done {
            break;
        }
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Service {
        child,
        addr: addr.unwrap_or_else(|| panic!("no listening line in {stdout:?}")),
        stdout,
        key_dir,
        _scratch: scratch,
    }
}
