//! The built `reports_api` example as a subprocess on an ephemeral port.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
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

pub struct Service {
    pub child: Child,
    pub addr: SocketAddr,
    pub stdout: Vec<String>,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(env: &[(&str, &str)]) -> Service {
    let mut cmd = Command::new(example_binary());
    cmd.env_remove("AUTH_ISSUER")
        .env_remove("AUTH_JWKS_URL")
        .env_remove("AUTH_AUDIENCE");
    cmd.env("BIND", "127.0.0.1:0")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd
        .spawn()
        .expect("reports_api example is built by cargo test");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = Vec::new();
    let mut addr = None;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(a) = line.strip_prefix("reports_api listening on http://") {
            addr = Some(a.parse().unwrap());
        }
        let done = line.starts_with("More tokens:") || (addr.is_some() && !env.is_empty());
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
    }
}
