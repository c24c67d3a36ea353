#!/usr/bin/env bash
# Build cost of the attribute: a crate with 200 #[requires] handlers versus the same crate
# with 200 plain handlers. Both build the same App with the same AuthConfig (a service that
# uses the attribute configures authentication anyway), so their difference is what the
# attribute costs. A third crate, without endpoint-auth at all, shows what using the library
# costs (mostly linking the runtime). Dependencies are built once and shared; then each
# crate's own compilation is timed after touching its source (debug profile: the
# edit-compile loop users live in), RUNS rounds, the variants interleaved so that drift on
# the machine hits them alike. Reported: medians, and the median of the per-round ratios.
# Rewrites the build section of BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-11}
root=$(pwd)
work=target/build-cost
mkdir -p "$work"
python3 - "$root" "$work" <<'PY'
import os, sys
root, work = sys.argv[1], sys.argv[2]
for variant in ("noauth", "plain", "requires"):
    d = os.path.join(work, variant)
    os.makedirs(os.path.join(d, "src"), exist_ok=True)
    open(os.path.join(d, "Cargo.toml"), "w").write(f'''[package]
name = "build-cost-{variant}"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
actix-web = "4"
endpoint-auth = {{ path = "{root}" }}

[workspace]
''')
    lines = ["use actix_web::{App, HttpResponse};", ""]
    if variant == "requires":
        lines.append("use endpoint_auth::requires;")
        lines.append("endpoint_auth::scopes! {")
        lines += [f'    "scope:{i}" => "Scope number {i}",' for i in range(10)]
        lines.append("}")
    for i in range(200):
        if variant == "requires":
            if i % 3 == 0:
                lines.append(f'#[requires(scope = "scope:{i % 10}")]')
            elif i % 3 == 1:
                lines.append(f'#[requires(any(scope = "scope:{i % 10}", all(scope = "scope:{(i + 1) % 10}", scope = "scope:{(i + 2) % 10}")))]')
            else:
                lines.append("#[requires(authenticated)]")
        lines.append(f'#[actix_web::get("/h{i}")]')
        lines.append(f"async fn h{i}() -> HttpResponse {{ HttpResponse::Ok().body(\"h{i}\") }}")
    services = "".join(f".service(h{i})" for i in range(200))
    if variant == "noauth":
        lines.append(f"fn main() {{ let _app = App::new(){services}; }}")
    else:
        lines += [
            "fn main() {",
            "    let auth = endpoint_auth::AuthConfig::builder()",
            '        .issuer("https://issuer.example")',
            '        .audience("reports-api")',
            '        .jwks_url("https://issuer.example/jwks.json")',
            "        .build()",
            '        .expect("configuration");',
            f"    let _app = App::new().wrap(auth){services};",
            "}",
        ]
    open(os.path.join(d, "src", "main.rs"), "w").write("\n".join(lines) + "\n")
PY
export CARGO_TARGET_DIR="$root/$work/target"
for v in noauth plain requires; do (cd "$work/$v" && cargo build -q 2>&1 | tail -3); done
python3 - "$root" "$work" "$RUNS" <<'PY'
import os, re, statistics, subprocess, sys, time
root, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
variants = ("noauth", "plain", "requires")
times = {v: [] for v in variants}
for _ in range(runs):
    for v in variants:
        os.utime(os.path.join(work, v, "src", "main.rs"))
        start = time.monotonic()
        subprocess.run(["cargo", "build", "-q"], cwd=os.path.join(work, v), check=True)
        times[v].append(time.monotonic() - start)
for v in variants:
    print(f"{v}: " + " ".join(f"{t:.2f}" for t in times[v]), file=sys.stderr)
med = {v: statistics.median(times[v]) for v in variants}


def ratio(a, b):
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


section = "\n".join([
    "<!-- build:begin (bench/build_cost.sh rewrites this section) -->",
    f"200 handlers, debug build of the crate itself (dependencies prebuilt), {runs} interleaved rounds:",
    "",
    "| crate | build (s, median) |",
    "|---|---:|",
    f"| 200 plain handlers, no endpoint-auth | {med['noauth']:.2f} |",
    f"| 200 plain handlers, same App with an `AuthConfig` | {med['plain']:.2f} |",
    f"| 200 `#[requires]` handlers (scope / any-all / authenticated, with a scopes! catalog), same App | {med['requires']:.2f} |",
    "",
    f"- `#[requires]` / plain handlers in the same App = {ratio('requires', 'plain'):.3f} (target ≤ 1.25)",
    f"- `#[requires]` / plain handlers without endpoint-auth = {ratio('requires', 'noauth'):.3f}"
    " (this includes linking the runtime: JWT crypto, HTTP client, TLS)",
    "<!-- build:end -->",
])
print(section)
path = os.path.join(root, "BENCHMARKS.md")
text = open(path).read()
text = re.sub(r"<!-- build:begin.*?<!-- build:end -->", lambda _: section, text, flags=re.S)
open(path, "w").write(text)
PY
