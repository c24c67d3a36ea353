#!/usr/bin/env bash
# Startup to first served request of reports_api (release build, embedded default), as seen by
# a client: from spawning the process to the first 200 from GET /health, polled every 1 ms.
# Usage: bench/startup.sh [runs]   (default 20). Prints a summary line; only 127.0.0.1 is used.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
cargo build --release --example reports_api >&2
bin=target/release/examples/reports_api
python3 - "$bin" "$runs" <<'PY'
import os, socket, statistics, subprocess, sys, time, urllib.request

binary, runs = sys.argv[1], int(sys.argv[2])

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

samples = []
for _ in range(runs):
    port = free_port()
    env = dict(os.environ, BIND=f"127.0.0.1:{port}", RUST_LOG="warn")
    for k in ("AUTH_ISSUER", "AUTH_JWKS_URL"):
        env.pop(k, None)
    t0 = time.perf_counter()
    p = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.perf_counter() - t0 > 10:
                    sys.exit("reports_api did not serve /health within 10 s")
                time.sleep(0.001)
        samples.append((time.perf_counter() - t0) * 1000)
    finally:
        p.terminate(); p.wait()
samples.sort()
print(f"startup to first served request over {runs} runs: median {statistics.median(samples):.1f} ms, "
      f"p90 {samples[int(0.9 * (len(samples) - 1))]:.1f} ms, max {samples[-1]:.1f} ms")
PY
