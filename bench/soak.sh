#!/usr/bin/env bash
# Soak test of reports_api (release build, embedded default) on 127.0.0.1 only: for DURATION
# seconds (default 60) CLIENTS concurrent keep-alive clients (default 32) send a mix of valid,
# expired, forged, scope-less and garbage requests. Reports the count per status, asserts that
# no response is a 5xx and that no connection failed, samples the server's RSS (VmRSS) at
# start, middle and end, and writes the figures into HARDENING.md (between the soak markers).
# Usage: bench/soak.sh            (not run by CI; needs python3 with `cryptography` for the
#                                  expired and forged tokens)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-60}
clients=${CLIENTS:-32}

cargo build --release --example reports_api >&2
bin=target/release/examples/reports_api

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export BIND="127.0.0.1:$port"
unset AUTH_ISSUER AUTH_JWKS_URL
export RUST_LOG=warn
# The embedded default's signing key, in a private directory of this run (the forged tokens
# below are signed with it).
keys=$(mktemp -d)
trap 'rm -rf "$keys"' EXIT
export REPORTS_API_DEV_KEY_DIR="$keys/endpoint-auth"

# Tokens from the embedded default (same BIND, so the same issuer as the server).
read_token=$("$bin" mint read:reports)
rw_token=$("$bin" mint read:reports write:reports)
noscope_token=$("$bin" mint export:reports)

# What was measured: the commit, and whether the working tree had changes on top of it.
export SOAK_TREE="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' + uncommitted changes')"

"$bin" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$keys"' EXIT
for _ in $(seq 1 200); do
    curl -fs "http://$BIND/health" >/dev/null 2>&1 && break
    sleep 0.05
done
curl -fs "http://$BIND/health" >/dev/null

python3 - "$server" "$port" "$duration" "$clients" "$read_token" "$rw_token" "$noscope_token" <<'PY'
import base64, collections, http.client, json, os, random, re, sys, threading, time

pid, port, duration, clients = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
read_token, rw_token, noscope_token = sys.argv[5:8]

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

# The embedded default keeps its ES256 key here (examples/reports_api.rs, DevKey::dir).
key = serialization.load_der_private_key(
    open(os.path.join(os.environ["REPORTS_API_DEV_KEY_DIR"], "reports_api-dev-key.p8"), "rb").read(), None)

def sign(header, claims):
    message = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    r, s = decode_dss_signature(key.sign(message.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{message}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

head, body, sig = read_token.split(".")
header, claims = json.loads(unb64(head)), json.loads(unb64(body))
expired = dict(claims, exp=int(time.time()) - 600, iat=int(time.time()) - 4200)
admin_claims = dict(claims, scope="read:reports write:reports admin:reports")
expired_token = sign(header, expired)
forged_payload = f"{head}.{b64(json.dumps(admin_claims).encode())}.{sig}"  # payload swapped
forged_sig = f"{head}.{body}.{sig[:-8]}{'A' * 8}"
none_alg = f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{body}."
wrong_aud = sign(header, dict(claims, aud="another-api"))

def auth(token):
    return {"Authorization": f"Bearer {token}"}

# (kind, method, path, headers, body, expected statuses)
MIX = [
    ("valid", "GET", "/reports", auth(read_token), None, {200}),
    ("valid", "GET", "/me", auth(read_token), None, {200}),
    ("valid", "GET", "/reports/1/export", auth(read_token), None, {200, 404}),
    ("valid", "GET", "/reports", auth(rw_token), None, {200}),
    ("expired", "GET", "/reports", auth(expired_token), None, {401}),
    ("expired", "POST", "/reports", dict(auth(expired_token), **{"Content-Type": "application/json"}), b"{", {401}),
    ("forged", "GET", "/reports", auth(forged_payload), None, {401}),
    ("forged", "DELETE", "/reports/1", auth(forged_sig), None, {401}),
    ("forged", "GET", "/me", auth(none_alg), None, {401}),
    ("forged", "GET", "/me", auth(wrong_aud), None, {401}),
    ("scope-less", "GET", "/reports", auth(noscope_token), None, {403}),
    ("scope-less", "POST", "/reports", dict(auth(read_token), **{"Content-Type": "application/json"}), b"not json", {403}),
    ("scope-less", "DELETE", "/reports/1", auth(read_token), None, {403}),
    # write:reports, but report 1 is the seeded team's: the ownership check hides it.
    ("not-owner", "DELETE", "/reports/1", auth(rw_token), None, {404}),
    ("garbage", "GET", "/reports", {}, None, {401}),
    ("garbage", "GET", "/reports", {"Authorization": "Bearer"}, None, {400}),
    ("garbage", "GET", "/reports", {"Authorization": "Basic dXNlcjpwYXNz"}, None, {401}),
    ("garbage", "GET", "/reports", auth("a.b.c"), None, {401}),
    ("garbage", "GET", "/reports", auth("x" * 20000), None, {401}),
    ("garbage", "GET", "/reports", {"Authorization": "Bearer a b"}, None, {400}),
    ("garbage", "POST", "/reports", {"Content-Type": "application/json"}, b"{\"title\":", {401}),
    ("garbage", "GET", "/reports/not-a-number/export", {}, None, {401}),
]

stop = time.monotonic() + duration
lock = threading.Lock()
by_status, by_kind, unexpected, errors = collections.Counter(), collections.Counter(), collections.Counter(), collections.Counter()

def client(seed):
    rng = random.Random(seed)
    conn = None
    local_status, local_kind, local_unexpected, local_errors = (collections.Counter() for _ in range(4))
    while time.monotonic() < stop:
        kind, method, path, headers, payload, expected = rng.choice(MIX)
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request(method, path, body=payload, headers=headers)
            resp = conn.getresponse()
            resp.read()
            local_status[resp.status] += 1
            local_kind[kind] += 1
            if resp.status not in expected:
                local_unexpected[f"{kind} {method} {path} -> {resp.status}"] += 1
            if resp.will_close:
                conn.close(); conn = None
        except Exception as e:  # a dropped connection would show up here
            local_errors[type(e).__name__] += 1
            if conn is not None:
                conn.close()
            conn = None
    with lock:
        by_status.update(local_status); by_kind.update(local_kind)
        unexpected.update(local_unexpected); errors.update(local_errors)

def rss_kib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

rss = {"start": rss_kib()}
threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
started = time.monotonic()
for t in threads:
    t.start()
time.sleep(duration / 2)
rss["middle"] = rss_kib()
for t in threads:
    t.join()
elapsed = time.monotonic() - started
rss["end"] = rss_kib()

total = sum(by_status.values())
fives = sum(n for s, n in by_status.items() if s >= 500)
print(f"{total} responses in {elapsed:.1f} s ({total / elapsed:.0f}/s), {clients} clients")
print("by status:", dict(sorted(by_status.items())))
print("by kind:", dict(sorted(by_kind.items())))
print("connection errors:", dict(errors) or 0)
print("unexpected statuses:", dict(unexpected) or 0)
print("VmRSS KiB:", rss)

cpu = open("/proc/cpuinfo").read()
model = re.search(r"model name\s*:\s*(.*)", cpu)
section = f"""<!-- soak:begin (written by bench/soak.sh; do not edit by hand) -->
Run of `bench/soak.sh` on {time.strftime('%Y-%m-%d')} (tree {os.environ.get('SOAK_TREE', 'unknown')}): `reports_api` release build, embedded
default (ES256), {clients} concurrent keep-alive clients (Python `http.client`, one thread each)
on the same {os.cpu_count()}-core machine ({model.group(1).strip() if model else 'unknown CPU'}),
127.0.0.1 only, {duration} s.

| figure | value |
|---|---|
| responses | {total} ({total / elapsed:.0f}/s; not a throughput figure: the Python clients share the cores with the server) |
| 5xx | **{fives}** |
| connection errors | {sum(errors.values())} |
| statuses other than the contract's for the request | {sum(unexpected.values())} |
| by status | {', '.join(f'{s}: {n}' for s, n in sorted(by_status.items()))} |
| by kind of request | {', '.join(f'{k}: {n}' for k, n in sorted(by_kind.items()))} |
| server VmRSS at start / middle / end | {rss['start']} / {rss['middle']} / {rss['end']} KiB |

Kinds: *valid* (read and read+write tokens on `GET /reports`, `/me`, `/reports/1/export`),
*expired* (re-signed with `exp` 10 min ago, also as an anonymous-looking `POST` with a broken
body), *forged* (payload swapped to admin scopes under the original signature, corrupted
signature, `alg: none`, wrong `aud`), *scope-less* (valid tokens lacking the route's scope,
including a `POST` with a non-JSON body and a `DELETE` without `write:reports`), *not-owner*
(`DELETE` of the seeded team's report with `write:reports`: the ownership check hides it, 404), *garbage*
(no header, `Bearer` alone, `Basic`, `a.b.c`, a 20 KB token, two words, an anonymous `POST` with
truncated JSON, an anonymous unparsable path).
<!-- soak:end -->"""

path = "HARDENING.md"
text = open(path).read() if os.path.exists(path) else "# Hardening\n\n## Soak\n\n<!-- soak:begin --><!-- soak:end -->\n"
text = re.sub(r"<!-- soak:begin.*?<!-- soak:end -->", lambda _: section, text, flags=re.S)
open(path, "w").write(text)
print(f"figures written to {path}")

if fives or errors or unexpected:
    sys.exit("FAIL: 5xx responses, connection errors or unexpected statuses (see above)")
PY
