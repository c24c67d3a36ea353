#!/usr/bin/env bash
# Where a protected request's extra server time goes: one pinned 1-worker server with both
# routes (`bench_server both`), wrk on the other core, a CPU-clock sampling profile of the
# server (perf) while wrk drives /public, then /reports, with the same token on both. Prints
# per-request nanoseconds by binary (kernel, ours, libc, vDSO) and the functions whose share
# grew most. Sampling (cpu-clock works without hardware counters, as on a VM), so read it as
# a breakdown of a difference, not as exact figures; BENCHMARKS.md cites one run of it.
#
# Usage: bench/profile.sh   (env: DURATION=10 FREQ=4000; needs perf, wrk, taskset)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
FREQ=${FREQ:-4000}
for tool in perf wrk taskset; do
  command -v "$tool" >/dev/null || { echo "SKIPPED: $tool is not installed" >&2; exit 0; }
done
cargo build --release --example bench_server >&2
bin=target/release/examples/bench_server
token=$("$bin" mint)
out=$(mktemp -d)
WORKERS=1 taskset -c 0 "$bin" both 127.0.0.1:18130 >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18130/public && break; sleep 0.05; done
for route in public reports; do
  url=http://127.0.0.1:18130/$route
  taskset -c 1 wrk -t1 -c32 -d3s -H "Authorization: Bearer $token" "$url" >/dev/null
  perf record -q -e cpu-clock -F "$FREQ" -p "$server" -o "$out/$route.data" -- sleep "$DURATION" \
    >/dev/null 2>&1 &
  recorder=$!
  taskset -c 1 wrk -t1 -c32 -d"${DURATION}s" -H "Authorization: Bearer $token" "$url" \
    | awk '/Requests\/sec/{print $2}' > "$out/$route.rps"
  wait "$recorder"
  perf report -i "$out/$route.data" -n --no-children --sort dso,sym --stdio 2>/dev/null \
    | grep -v '^#' | grep -v '^$' > "$out/$route.txt"
done
python3 - "$out" "$DURATION" "$FREQ" <<'PY'
import re, sys
out, duration, freq = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def load(route):
    rps = float(open(f"{out}/{route}.rps").read())
    per = {}
    for line in open(f"{out}/{route}.txt"):
        m = re.match(r"\s*[\d.]+%\s+(\d+)\s+(\S+)\s+\[.\]\s+(.*)", line)
        if m:
            key = (m.group(2), m.group(3).strip()[:100])
            # samples / freq = seconds of CPU; per request, in ns
            per[key] = per.get(key, 0) + int(m.group(1)) / freq / (rps * duration) * 1e9
    return rps, per
(pub_rps, pub), (prot_rps, prot) = load("public"), load("reports")
print(f"req/s: public {pub_rps:.0f}, #[requires] {prot_rps:.0f} (ratio {prot_rps / pub_rps:.3f})")
print(f"server CPU per request: public {sum(pub.values()):.0f} ns, #[requires] {sum(prot.values()):.0f} ns")
dsos = {}
for (dso, _), ns in pub.items():
    dsos.setdefault(dso, [0.0, 0.0])[0] += ns
for (dso, _), ns in prot.items():
    dsos.setdefault(dso, [0.0, 0.0])[1] += ns
print("\nby binary (ns per request): public, #[requires], difference")
for dso, (a, b) in sorted(dsos.items(), key=lambda t: -t[1][1]):
    print(f"  {dso:28s} {a:8.0f} {b:8.0f} {b - a:+8.0f}")
diff = sorted(((prot.get(k, 0) - pub.get(k, 0)), k) for k in set(pub) | set(prot))
print("\nfunctions whose time per request grew most (ns):")
for ns, (dso, sym) in diff[::-1][:25]:
    print(f"  {ns:+7.1f}  {dso[:16]:16s} {sym}")
PY
