#!/usr/bin/env bash
# The namespace interop lab (issue 5): bgpd between real GoBGP, BIRD and FRR daemons, each in
# its own network namespace on one bridge. Every scenario is asserted from the peers' own
# views (gobgp -j, birdc show route all, vtysh ... json); a failure prints the peer's output.
#
#   usage (root):  bash tests/lab/run.sh [--keep] [SCENARIO...]     e.g.  bash tests/lab/run.sh 3 8
#   SCENARIO: 1-3, 5-11 and any registered by scenarios/12+ (route-server lab), 4 (route-reflector
#   lab); default: all.
#   --keep: after the scenarios, leave the lab up until Enter (at most 30 minutes) to look around.
#   BGPD=path overrides the bgpd binary (default target/release/bgpd, built by tests/run.sh).
#   LAB_TIMEOUT=seconds: the whole run is stopped after this long (default 540).
#
# Results: one line per scenario, PASS/FAIL with its duration. The configs and logs of every
# daemon of a lab with a failed scenario (or with --keep) stay in its directory, printed with
# the results; a lab whose scenarios all passed removes it.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"
source "$HERE/configs.sh"
source "$HERE/views.sh"
source "$HERE/topology.sh"
# The route-server lab and its scenarios, in an order where each starts from the state it needs.
RS_ORDER=(1 2 10 5 6 3 11 8 9 7)
# Scenario files numbered 12 and up register themselves: they append their number to
# EXTRA_RS (route-server lab, run after RS_ORDER in file order) and set TITLE[N].
EXTRA_RS=()
declare -A TITLE=(
  [1]="sessions Established with the expected capabilities"
  [2]="pod blocks and LB IPs reach the vMX, the vMX's routes reach the nodes"
  [3]="withdrawals, a new and a released pod block, a service IP moving between speakers"
  [4]="route reflector: ORIGINATOR_ID, CLUSTER_LIST, attributes left alone"
  [5]="route server: next hop, MED, communities unchanged, no prepend, no hidden paths"
  [6]="IPv6 pod and LB routes over IPv6 transport and over IPv4 transport"
  [7]="TCP-MD5 with BIRD and FRR; a wrong key never comes up"
  [8]="Calico node's BIRD killed and restarted: graceful restart"
  [9]="link cut: hold timer expiry, withdrawal everywhere, session returns"
  [10]="bgpd's prefix log: one line per pod and LB prefix, right class and peer"
  [11]="bgpd audit on the lab's real routes: faults caused by BIRD and FRR reported, then cleared"
)
for f in "$HERE"/scenarios/*.sh; do source "$f"; done
RS_ORDER+=("${EXTRA_RS[@]}")

KEEP=0
SELECTED=()
for a in "$@"; do
  case $a in
    --keep) KEEP=1 ;;
    [0-9]|[1-9][0-9]) [ -n "${TITLE[$a]:-}" ] || { echo "lab: no scenario $a" >&2; exit 2; }
      SELECTED+=("$a") ;;
    *) echo "usage: $0 [--keep] [SCENARIO...]" >&2; exit 2 ;;
  esac
done
[ ${#SELECTED[@]} -gt 0 ] || SELECTED=("${RS_ORDER[@]}" 4)

# --- preconditions: a missing tool fails, nothing skips itself -------------------------------
[ "$(id -u)" = 0 ] || { echo "lab: needs root (network namespaces)" >&2; exit 1; }
for tool in ip gobgpd gobgp bird birdc vtysh jq; do
  command -v "$tool" >/dev/null || { echo "lab: $tool missing: run tests/install-deps.sh" >&2; exit 1; }
done
[ -x /usr/lib/frr/bgpd ] || { echo "lab: /usr/lib/frr/bgpd missing: run tests/install-deps.sh" >&2; exit 1; }
[ -x "$BGPD" ] || { echo "lab: $BGPD missing: cargo build --release -p bgpd" >&2; exit 1; }

# --- always tear down; never run longer than LAB_TIMEOUT ------------------------------------
WATCHDOG=""
on_exit() {
  [ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null
  lab_teardown
}
trap on_exit EXIT
trap 'echo "lab: interrupted" >&2; exit 130' INT TERM
# (the watchdog's sleep must die with it: it would hold a pipe on our output open)
(
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  sleep "${LAB_TIMEOUT:-540}" >/dev/null 2>&1 &
  sleeper=$!
  wait "$sleeper" || exit 0
  echo "lab: LAB_TIMEOUT (${LAB_TIMEOUT:-540}s) reached, stopping" >&2
  kill -TERM $$
) &
WATCHDOG=$!

RESULTS=()
FAILED=0
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# run_scenario N TITLE : the scenario's function in a subshell with errexit, so the first
# failed assertion ends it; the lab itself stays for the next scenario.
run_scenario() {
  local n=$1 title=$2 t0 rc
  t0=$(now)
  log "--- scenario $n: $title"
  ( set -e; "scenario_$n" )
  rc=$?
  if [ $rc = 0 ]; then
    RESULTS+=("PASS  scenario $n  $title  ($(elapsed "$t0")s)")
  else
    RESULTS+=("FAIL  scenario $n  $title  ($(elapsed "$t0")s)")
    FAILED=1
  fi
  log "${RESULTS[-1]}"
}

selected() { local s; for s in "${SELECTED[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

keep_if_asked() {
  [ $KEEP = 1 ] || return 0
  log "lab kept up: namespaces $LAB_PREFIX-*, files in $LAB_DIR (see tests/lab/README.md); Enter ends it"
  read -r -t 1800 _ || true
}

# finish_lab FAILED_BEFORE : tear the lab down; keep its files only when one of its scenarios
# failed (or --keep was given)
finish_lab() {
  lab_teardown
  if [ "$FAILED" != "$1" ] || [ $KEEP = 1 ]; then
    log "configs and logs of this lab kept in $LAB_DIR"
  else
    rm -rf "$LAB_DIR"
  fi
}

T_ALL=$(now)
want_rs=0
for n in "${RS_ORDER[@]}"; do selected "$n" && want_rs=1; done
if [ $want_rs = 1 ]; then
  t0=$(now)
  build_route_server_lab
  log "route-server lab up in $(elapsed "$t0")s ($LAB_DIR)"
  failed_before=$FAILED
  for n in "${RS_ORDER[@]}"; do selected "$n" && run_scenario "$n" "${TITLE[$n]}"; done
  keep_if_asked
  finish_lab "$failed_before"
fi
if selected 4; then
  t0=$(now)
  build_route_reflector_lab
  log "route-reflector lab up in $(elapsed "$t0")s ($LAB_DIR)"
  failed_before=$FAILED
  run_scenario 4 "${TITLE[4]}"
  keep_if_asked
  finish_lab "$failed_before"
fi

echo
echo "== namespace interop lab: results (total $(elapsed "$T_ALL")s) =="
printf '%s\n' "${RESULTS[@]}"
exit $FAILED
