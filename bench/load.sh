#!/usr/bin/env bash
# End-to-end load benchmark: one handler served three ways, driven by wrk at fixed
# concurrency, all in one run:
#   (a) plain: unprotected            (b) #[requires] (token cache on, then off)
#   (c) actix-web-httpauth + actix-web-grants + jsonwebtoken, same token, key and validation
# Prints req/s, p50, p99 and the ratios b/a and b/c, and rewrites the load section of
# BENCHMARKS.md. Only 127.0.0.1 is used; each run is bounded by DURATION.
# Usage: bench/load.sh            (env: DURATION=10s CONNECTIONS=32 WORKERS=1)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
export WORKERS=${WORKERS:-1}

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
fi
cargo build --release --example bench_server >&2
bin=target/release/examples/bench_server
token=$("$bin" mint)

run() { # variant port [env…]
  local variant=$1 port=$2; shift 2
  env "$@" "$bin" "$variant" "127.0.0.1:$port" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
  # Sanity: the protected variants must refuse an anonymous request and accept the token.
  local anon ok
  anon=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/reports")
  ok=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:$port/reports")
  [ "$ok" = 200 ] || { echo "$variant: token refused ($ok)" >&2; kill $pid; exit 1; }
  [ "$variant" = plain ] || [ "$anon" = 401 ] || { echo "$variant: anonymous got $anon" >&2; kill $pid; exit 1; }
  wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $token" "http://127.0.0.1:$port/reports" > "target/wrk-$variant.txt"
  kill $pid; wait $pid 2>/dev/null || true
  python3 - "$variant" "target/wrk-$variant.txt" <<'PY'
import re, sys
name, path = sys.argv[1], sys.argv[2]
text = open(path).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def lat(p):
    m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", text, re.M)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{name} {rps:.0f} {lat(50):.3f} {lat(99):.3f} {non2xx.group(1) if non2xx else 0}")
PY
}

results=$(
  run plain 18101
  run requires 18102
  run requires-nocache 18103 TOKEN_CACHE=off
  run alternative 18104
)
RESULTS="$results" python3 - "$DURATION" "$CONNECTIONS" "$WORKERS" <<'PY'
import os, re, sys, subprocess
duration, conns, workers = sys.argv[1:4]
rows = {l.split()[0]: l.split()[1:] for l in os.environ["RESULTS"].strip().splitlines()}
rps = {k: float(v[0]) for k, v in rows.items()}
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
lines = [
    "<!-- load:begin (bench/load.sh rewrites this section) -->",
    f"wrk, 1 thread, {conns} connections, {duration} per variant, server with {workers} worker; "
    f"{cpu}, {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores. Same RS256 token and key everywhere.",
    "",
    "| variant | req/s | p50 (ms) | p99 (ms) | non-2xx |",
    "|---|---:|---:|---:|---:|",
]
names = {"plain": "(a) unprotected", "requires": "(b) #[requires], token cache on (default)",
         "requires-nocache": "(b') #[requires], token cache off", "alternative": "(c) httpauth + grants + jsonwebtoken"}
for k in ["plain", "requires", "requires-nocache", "alternative"]:
    r, p50, p99, bad = rows[k]
    lines.append(f"| {names[k]} | {float(r):.0f} | {p50} | {p99} | {bad} |")
lines += ["",
    f"- b/a = {rps['requires'] / rps['plain']:.3f} (cache on), {rps['requires-nocache'] / rps['plain']:.3f} (cache off)",
    f"- b/c = {rps['requires'] / rps['alternative']:.3f} (cache on), {rps['requires-nocache'] / rps['alternative']:.3f} (cache off)",
    "<!-- load:end -->"]
section = "\n".join(lines)
print(section)
try:
    text = open("BENCHMARKS.md").read()
except FileNotFoundError:
    text = "# Benchmarks\n\n## Load\n\n<!-- load:begin --><!-- load:end -->\n"
text = re.sub(r"<!-- load:begin.*?<!-- load:end -->", lambda _: section, text, flags=re.S)
open("BENCHMARKS.md", "w").write(text)
PY
