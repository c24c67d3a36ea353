#!/usr/bin/env bash
# Build cost of the attribute: a crate with 200 #[requires] handlers versus the same crate
# with 200 plain handlers. Dependencies are built once and shared; then each crate's own
# compilation is timed RUNS times after touching its source (debug profile, the edit-compile
# loop users live in), and the medians are compared. Rewrites the build section of BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
root=$(pwd)
work=target/build-cost
mkdir -p "$work"
python3 - "$root" "$work" <<'PY'
import os, sys
root, work = sys.argv[1], sys.argv[2]
for variant in ("plain", "requires"):
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
    lines.append(f"fn main() {{ let _app = App::new(){services}; }}")
    open(os.path.join(d, "src", "main.rs"), "w").write("\n".join(lines) + "\n")
PY
export CARGO_TARGET_DIR="$root/$work/target"
for v in plain requires; do (cd "$work/$v" && cargo build -q 2>&1 | tail -3); done
declare -A med
for v in plain requires; do
  times=()
  for _ in $(seq "$RUNS"); do
    touch "$work/$v/src/main.rs"
    s=$(date +%s%N)
    (cd "$work/$v" && cargo build -q)
    e=$(date +%s%N)
    times+=("$(( (e - s) / 1000000 ))")
  done
  med[$v]=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
  echo "$v: ${times[*]} ms (median ${med[$v]} ms)" >&2
done
python3 - "${med[plain]}" "${med[requires]}" "$RUNS" <<'PY'
import re, sys
plain, req, runs = float(sys.argv[1]) / 1000, float(sys.argv[2]) / 1000, sys.argv[3]
section = "\n".join([
    "<!-- build:begin (bench/build_cost.sh rewrites this section) -->",
    f"200 handlers, debug build of the crate itself (dependencies prebuilt), median of {runs} runs:",
    "",
    "| crate | build (s) |",
    "|---|---:|",
    f"| 200 plain handlers | {plain:.2f} |",
    f"| 200 `#[requires]` handlers (scope / any-all / authenticated, with a scopes! catalog) | {req:.2f} |",
    "",
    f"- ratio = {req / plain:.3f} (target ≤ 1.25)",
    "<!-- build:end -->",
])
print(section)
try:
    text = open("BENCHMARKS.md").read()
except FileNotFoundError:
    text = "# Benchmarks\n\n## Build cost\n\n<!-- build:begin --><!-- build:end -->\n"
text = re.sub(r"<!-- build:begin.*?<!-- build:end -->", lambda _: section, text, flags=re.S)
open("BENCHMARKS.md", "w").write(text)
PY
