#!/usr/bin/env bash
# The test command: installs what the tests need, then runs every check and test.
# This is exactly what CI runs (.ci/run) and what the README tells you to run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step's line says how long the run has taken so far, so a slow step shows in CI's log.
step() { printf '\n==> [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

step "installing test tools (Debian packages) if missing"
bash tests/install-deps.sh

step "formatting (cargo fmt --check)"
cargo fmt --all -- --check

step "lints (cargo clippy -D warnings)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "API docs (cargo doc, warnings are errors: broken or private intra-doc links)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps

step "building release binaries (tests run the real bgpd binary)"
cargo build --workspace --release --all-features

step "unit, property, interop and bad-input tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --release --no-fail-fast
else
  cargo test --workspace --all-features --release --no-fail-fast
fi
cargo test --workspace --all-features --release --doc

# The fuzz targets need their own build (sanitizer flags, ~5-8 minutes of CPU). It runs in the
# background at the lowest CPU and I/O priority while the labs below, which mostly wait on
# BGP timers, run in the foreground; the fuzz step waits for it.
step "building the fuzz targets in the background (nice 19) while the labs run"
fuzz_build_log="$(mktemp)"
FUZZ_BUILD_ONLY=1 setsid nice -n 19 ionice -c 3 bash tests/fuzz-smoke.sh >"$fuzz_build_log" 2>&1 &
fuzz_build_pid=$!
# Its own process group: a failing step stops the whole build with the script.
trap 'kill -- -"$fuzz_build_pid" 2>/dev/null || true' EXIT

step "namespace interop lab: bgpd against real GoBGP, BIRD and FRR (tests/lab, bounded to 10 minutes)"
timeout --kill-after=30 600 bash tests/lab/run.sh

step "compose interop lab: the same lab as containers (docker-compose.yml, tests/compose, bounded to 8 minutes)"
COMPOSE_TIMEOUT=450 timeout --kill-after=30 480 bash tests/compose/run.sh

step "soak: bgpd and 20 flapping/updating peers in network namespaces (short version, tests/soak)"
timeout --kill-after=30 420 bash tests/soak/run.sh --duration 120

step "performance race smoke run: bgpd, BIRD, GoBGP and FRR on loopback, small workloads (bgpd bench --smoke, bounded to 3 minutes)"
timeout --kill-after=10 180 target/release/bgpd bench --smoke

step "fuzz smoke run (bounded)"
if ! wait "$fuzz_build_pid"; then
  cat "$fuzz_build_log"
  echo "building the fuzz targets failed" >&2
  exit 1
fi
tail -n 3 "$fuzz_build_log"
bash tests/fuzz-smoke.sh

step "all tests passed"
