#!/usr/bin/env bash
# End-to-end load benchmark: one handler served three ways, driven by wrk at fixed
# concurrency, all in one run:
#   (a) plain: unprotected            (b) #[requires] (token cache on, then off)
#   (c) actix-web-httpauth + actix-web-grants + jsonwebtoken, same token, key and validation
#   (d) the floor: the token's signature checked (key parsed once), nothing else
# All servers run side by side; ROUNDS rounds drive each in turn for DURATION, so that drift
# on the machine (a shared VM) hits every variant alike. Prints, per variant, the median
# req/s, p50 and p99 over the rounds, and the ratios b/a and b/c as medians of per-round
# ratios; rewrites the load section of BENCHMARKS.md. Only 127.0.0.1 is used.
# Usage: bench/load.sh            (env: ROUNDS=9 DURATION=3s CONNECTIONS=32 WORKERS=1)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-9}
DURATION=${DURATION:-3s}
CONNECTIONS=${CONNECTIONS:-32}
export WORKERS=${WORKERS:-1}

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
fi
cargo build --release --example bench_server >&2
bin=target/release/examples/bench_server
token=$("$bin" mint)

# With 2+ cores and one worker, the servers share CPU 0 and wrk gets CPU 1, so that the two
# never compete for a core (the scheduler moving them around is most of the run-to-run noise).
server_cpu="" client_cpu=""
if [ "$WORKERS" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  server_cpu="taskset -c 0" client_cpu="taskset -c 1"
fi

variants=(plain floor requires requires-nocache alternative)
declare -A port=([plain]=18101 [floor]=18105 [requires]=18102 [requires-nocache]=18103 [alternative]=18104)
pids=()
declare -A pid
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for v in "${variants[@]}"; do
  if [ "$v" = requires-nocache ]; then
    TOKEN_CACHE=off $server_cpu "$bin" "$v" "127.0.0.1:${port[$v]}" >/dev/null 2>&1 &
  else
    $server_cpu "$bin" "$v" "127.0.0.1:${port[$v]}" >/dev/null 2>&1 &
  fi
  pids+=($!)
  pid[$v]=$!
done
# Server CPU time (user + system, all threads) in clock ticks, read around every round: the
# server CPU each request costs, what protection adds in absolute terms.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for v in "${variants[@]}"; do
  url="http://127.0.0.1:${port[$v]}/reports"
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:${port[$v]}/" && break; sleep 0.05; done
  # Sanity: the protected variants must refuse an anonymous request and accept the token.
  anon=$(curl -s -o /dev/null -w '%{http_code}' "$url")
  ok=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$url")
  [ "$ok" = 200 ] || { echo "$v: token refused ($ok)" >&2; exit 1; }
  [ "$v" = plain ] || [ "$anon" = 401 ] || { echo "$v: anonymous got $anon" >&2; exit 1; }
done
rm -f target/wrk-*.txt
# Warm-up (discarded): connections, allocator and caches settle before the first round.
for v in "${variants[@]}"; do
  $client_cpu wrk -t1 -c"$CONNECTIONS" -d2s -H "Authorization: Bearer $token" \
    "http://127.0.0.1:${port[$v]}/reports" >/dev/null
done
for r in $(seq "$ROUNDS"); do
  for v in "${variants[@]}"; do
    echo "round $r/$ROUNDS: $v" >&2
    before=$(cpu_ticks "${pid[$v]}")
    $client_cpu wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $token" \
      "http://127.0.0.1:${port[$v]}/reports" > "target/wrk-$v-$r.txt"
    echo "$before $(cpu_ticks "${pid[$v]}") $(getconf CLK_TCK)" > "target/cpu-$v-$r.txt"
  done
done
if [ -n "$server_cpu" ]; then pinning="servers on CPU 0, wrk on CPU 1"; else pinning="not pinned"; fi
python3 - "$ROUNDS" "$DURATION" "$CONNECTIONS" "$WORKERS" "$pinning" <<'PY'
import re, statistics, subprocess, sys
rounds, duration, conns, workers, pinning = int(sys.argv[1]), *sys.argv[2:6]
variants = ["plain", "floor", "requires", "requires-nocache", "alternative"]

def parse(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    def lat(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", text, re.M)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    before, after, tck = map(int, open(path.replace("wrk-", "cpu-")).read().split())
    cpu_us = (after - before) / tck * 1e6 / requests
    return rps, lat(50), lat(99), int(bad.group(1)) if bad else 0, cpu_us

runs = {v: [parse(f"target/wrk-{v}-{r}.txt") for r in range(1, rounds + 1)] for v in variants}
med = {v: [statistics.median(x[i] for x in runs[v]) for i in (0, 1, 2, 4)] for v in variants}
bad = {v: sum(x[3] for x in runs[v]) for v in variants}

def ratio(a, b):
    per_round = [x[0] / y[0] for x, y in zip(runs[a], runs[b])]
    return f"{statistics.median(per_round):.3f} (rounds {min(per_round):.3f}–{max(per_round):.3f})"


def cpu_diff(a, b):
    per_round = [x[4] - y[4] for x, y in zip(runs[a], runs[b])]
    return f"{statistics.median(per_round):.2f} (rounds {min(per_round):.2f}–{max(per_round):.2f})"


cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                     capture_output=True, text=True).stdout.strip()
cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
names = {"plain": "(a) unprotected",
         "floor": "(d) signature check only (the floor: no header rules, no claims)",
         "requires": "(b) #[requires], token cache on (default)",
         "requires-nocache": "(b') #[requires], token cache off",
         "alternative": "(c) httpauth + grants + jsonwebtoken"}
lines = [
    "<!-- load:begin (bench/load.sh rewrites this section) -->",
    f"wrk, 1 thread, {conns} connections; {rounds} interleaved rounds of {duration} per variant; "
    f"server with {workers} worker; {cpu}, {cores} cores; {pinning}. Same RS256 token and key "
    "everywhere. Medians over the rounds; ratios are medians of per-round ratios, with their range.",
    "",
    "| variant | req/s | p50 (ms) | p99 (ms) | server CPU per request (µs) | non-2xx (all rounds) |",
    "|---|---:|---:|---:|---:|---:|",
]
for v in variants:
    rps, p50, p99, cpu_us = med[v]
    lines.append(f"| {names[v]} | {rps:.0f} | {p50:.3f} | {p99:.3f} | {cpu_us:.2f} | {bad[v]} |")
lines += [
    "",
    f"- b/a = {ratio('requires', 'plain')} with the cache, {ratio('requires-nocache', 'plain')} without",
    f"- b/c = {ratio('requires', 'alternative')} with the cache, {ratio('requires-nocache', 'alternative')} without",
    f"- server CPU per request, (b') − (d) = {cpu_diff('requires-nocache', 'floor')} µs: what "
    "`#[requires]` spends beyond the signature check, in the server (token cache off)",
    f"- server CPU per request, (b) − (a) = {cpu_diff('requires', 'plain')} µs: what a repeated "
    "token costs with the cache (the default)",
    "<!-- load:end -->",
]
section = "\n".join(lines)
print(section)
text = open("BENCHMARKS.md").read()
text = re.sub(r"<!-- load:begin.*?<!-- load:end -->", lambda _: section, text, flags=re.S)
open("BENCHMARKS.md", "w").write(text)
PY
