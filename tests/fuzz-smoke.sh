#!/usr/bin/env bash
# Builds every fuzz target of both cargo-fuzz projects (bgp-proto/fuzz: the decoders;
# bgpd/fuzz: the config loader and the stateful FSM + RIB target) and runs each for a bounded
# time from the committed seeds; fails on any crash, panic, leak, timeout or out-of-memory.
# Works on the stable toolchain: RUSTC_BOOTSTRAP=1 unlocks the -Z flags that cargo-fuzz passes
# to rustc.
#
# Usage: tests/fuzz-smoke.sh [SECONDS_PER_TARGET]     (default 20: five targets, ~2 minutes
#                                                      of fuzzing plus the builds)
#   FUZZ_SANITIZER=none   build without AddressSanitizer (default: address)
#   FUZZ_TARGETS="a b"    run only these targets (default: every target of both projects)
#   FUZZ_BUILD_ONLY=1     build the targets and stop (tests/run.sh builds them in the
#                         background while the labs run, then runs this script again)
# A crashing input is left in <project>/artifacts/<target>/; replay it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>   (in that project's directory)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

seconds="${1:-${FUZZ_SECONDS:-20}}"
sanitizer="${FUZZ_SANITIZER:-address}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke: cargo-fuzz missing, installing it from crates.io" >&2
  cargo install cargo-fuzz --locked
fi

flags=(--sanitizer "$sanitizer" --debug-assertions)
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
failed=()
total=0

for project in bgp-proto/fuzz bgpd/fuzz; do
  cd "$root/$project"
  targets=""
  for t in $(cargo fuzz list); do
    if [ -z "${FUZZ_TARGETS:-}" ] || [[ " $FUZZ_TARGETS " == *" $t "* ]]; then
      targets="$targets $t"
    fi
  done
  [ -n "$targets" ] || continue

  echo "==> building fuzz targets of $project:$targets"
  for t in $targets; do
    cargo fuzz build "${flags[@]}" "$t"
  done

  [ -z "${FUZZ_BUILD_ONLY:-}" ] || continue

  for t in $targets; do
    mkdir -p "corpus/$t"
    dirs=("corpus/$t")
    [ -d "seeds/$t" ] && dirs+=("seeds/$t")
    echo "==> fuzzing $t for ${seconds}s (sanitizer: $sanitizer)"
    total=$((total + 1))
    if cargo fuzz run "${flags[@]}" "$t" "${dirs[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1; then
      grep -E '^(Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
    else
      tail -n 60 "$log"
      echo "fuzz-smoke: $t FAILED; the input is in $project/artifacts/$t/" >&2
      failed+=("$t")
    fi
  done
done

if [ -n "${FUZZ_BUILD_ONLY:-}" ]; then
  echo "fuzz-smoke: targets built"
  exit 0
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz-smoke: crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz-smoke: $total targets, ${seconds}s each, no crash"
