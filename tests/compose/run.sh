#!/usr/bin/env bash
# The compose interop lab (issue 5): docker-compose.yml at the top level, bgpd as route server
# between GoBGP (vMX, MetalLB native speaker), BIRD (Calico nodes) and FRR (MetalLB speakers),
# one container each. This script builds and starts it, checks sessions and routes from inside
# the containers (PASS/FAIL per check, the peer's own output on a failure) and always takes it
# down again (`down -v`).
#
#   usage (root or docker group):  bash tests/compose/run.sh [--keep]
#   --keep           after the checks, leave the lab up until Enter (at most 30 minutes)
#   COMPOSE_TIMEOUT  the whole run is stopped after this many seconds (default 420)
#   COMPOSE_PROJECT  compose project name (default bgpdlab)
#   COMPOSE_CMD      compose command (default: docker-compose if present, else docker compose)
#
# Steps: compose config -q; tests/compose/base-image.sh (debian:bookworm-slim made locally when
# the engine lacks it); cargo build --release -p bgpd when target/release/bgpd is missing;
# compose build, up -d, the checks, down -v. Exit 0 only when every check passed; non-zero when
# one failed, or when docker or compose is missing (nothing skips itself). Only one run at a
# time on a machine (the lab's subnet is fixed): a second one waits for
# /tmp/bgpd-compose.lock (at most 300 s).
# shellcheck source-path=SCRIPTDIR disable=SC2317 # (functions run through `phase` / traps)
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../lab/lib.sh
source "$ROOT/tests/lab/lib.sh"
# shellcheck source=../lab/views.sh
source "$ROOT/tests/lab/views.sh"
# shellcheck source=../lab/scenarios/01-sessions.sh
source "$ROOT/tests/lab/scenarios/01-sessions.sh"   # check_vmx_session, check_bird_session, check_frr_session
# shellcheck source=../lab/scenarios/02-routes.sh
source "$ROOT/tests/lab/scenarios/02-routes.sh"     # check_vmx_ipv4, check_node_gets_vmx_routes
# shellcheck source=../lab/scenarios/06-dual-stack.sh
source "$ROOT/tests/lab/scenarios/06-dual-stack.sh" # check_vmx_ipv6, check_node_ipv6
# shellcheck source=checks.sh
source "$HERE/checks.sh"

KEEP=0
for a in "$@"; do
  case $a in
    --keep) KEEP=1 ;;
    *) echo "usage: $0 [--keep]" >&2; exit 2 ;;
  esac
done
PROJECT=${COMPOSE_PROJECT:-bgpdlab}
SUBNET=198.51.100.0/24

# --- preconditions: a missing tool fails, nothing skips itself -------------------------------
command -v docker >/dev/null || { echo "compose lab: docker missing (install docker.io)" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "compose lab: the Docker engine does not answer (docker info)" >&2; exit 1; }
if [ -n "${COMPOSE_CMD:-}" ]; then
  read -ra COMPOSE_BASE <<<"$COMPOSE_CMD"
elif command -v docker-compose >/dev/null; then
  COMPOSE_BASE=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  COMPOSE_BASE=(docker compose)
else
  echo "compose lab: neither docker-compose nor the docker compose plugin is installed" >&2; exit 1
fi
COMPOSE=("${COMPOSE_BASE[@]}" -p "$PROJECT" -f "$ROOT/docker-compose.yml")
command -v jq >/dev/null || { echo "compose lab: jq missing: run tests/install-deps.sh" >&2; exit 1; }

exec 9>/tmp/bgpd-compose.lock
flock -w 300 9 || { echo "compose lab: another run holds /tmp/bgpd-compose.lock for 300 s" >&2; exit 1; }

# --- always tear down; never run longer than COMPOSE_TIMEOUT ---------------------------------
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
T_ALL=$(now)
TIMES=()
WATCHDOG=""
UP=0
teardown() {
  [ $UP = 1 ] || return 0
  local t0; t0=$(date +%s)
  dc down -v --remove-orphans -t 5 >/dev/null 2>&1 || dc down -v -t 5 || true
  UP=0
  log "down -v in $(( $(date +%s) - t0 ))s"
}
on_exit() {
  [ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null
  teardown
}
trap on_exit EXIT
RESULTS=()
FAILED=0
# print_results : one line per check run so far (also when the run is interrupted)
print_results() {
  echo
  echo "== compose interop lab: results (total $(elapsed "$T_ALL")s) =="
  printf '%s\n' "${RESULTS[@]}"
  echo "phases: $(printf '%s; ' "${TIMES[@]}")"
}
trap 'echo "compose lab: interrupted" >&2; print_results; echo "(interrupted: the checks not listed did not run)"; exit 130' INT TERM
(
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  sleep "${COMPOSE_TIMEOUT:-420}" >/dev/null 2>&1 &
  sleeper=$!
  wait "$sleeper" || exit 0
  echo "compose lab: COMPOSE_TIMEOUT (${COMPOSE_TIMEOUT:-420}s) reached, stopping" >&2
  kill -TERM $$
) &
WATCHDOG=$!

# phase NAME CMD... : run one setup step, time it, stop the run when it fails
phase() {
  local name=$1 t0; shift
  t0=$(now)
  log "--- $name"
  "$@" || { echo "compose lab: FAILED at \"$name\": $* (exit $?)" >&2; exit 1; }
  TIMES+=("$name $(elapsed "$t0")s")
}

# A network holding the lab's subnet (a lab left up by hand, e.g. `docker compose up` in this
# directory under another project name) would make `up` fail with "Pool overlaps": say which.
subnet_free() {
  local net
  for net in $(docker network ls -q); do
    if docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' "$net" 2>/dev/null | grep -qw "$SUBNET"; then
      echo "compose lab: docker network $(docker network inspect -f '{{.Name}}' "$net") already uses $SUBNET;" \
        "take that lab down first (docker compose -p PROJECT down -v)" >&2
      return 1
    fi
  done
}
build_bgpd_if_missing() {
  [ -x "$ROOT/target/release/bgpd" ] && return 0
  log "target/release/bgpd missing: cargo build --release -p bgpd"
  (cd "$ROOT" && cargo build --release -p bgpd)
}

phase "compose config (the file is valid)" dc config -q
dc down -v -t 5 >/dev/null 2>&1 || true   # leftovers of an interrupted run of this project
phase "base image (tests/compose/base-image.sh)" bash "$HERE/base-image.sh"
phase "bgpd binary" build_bgpd_if_missing
# compose build, its output shown only when it fails (the docker CLI's legacy-builder notice
# would otherwise be printed once per service); the image it replaces (after a new bgpd
# binary) is removed rather than left dangling
build_images() {
  local out old new
  old=$(docker image inspect -f '{{.Id}}' bgpd-lab:latest 2>/dev/null)
  out=$(dc build 2>&1) || { echo "$out" | tail -n 60 >&2; return 1; }
  new=$(docker image inspect -f '{{.Id}}' bgpd-lab:latest 2>/dev/null)
  if [ -n "$old" ] && [ "$old" != "$new" ]; then docker rmi "$old" >/dev/null 2>&1 || true; fi
}
phase "compose build" build_images
phase "subnet $SUBNET free" subnet_free
UP=1
phase "compose up -d" dc up -d

# run_check TITLE SECONDS FUNCTION ARGS... : FUNCTION must succeed within SECONDS (polled).
# Once a check has failed, the lab is known to be broken: later checks poll 5 s at most, so a
# broken lab reports every failure well within COMPOSE_TIMEOUT instead of waiting on each.
run_check() {
  local title=$1 secs=$2 t0 rc; shift 2
  [ $FAILED = 1 ] && [ "$secs" -gt 5 ] && secs=5
  t0=$(now)
  ( set -e; within "$secs" "$title" "$@" )
  rc=$?
  if [ $rc = 0 ]; then RESULTS+=("PASS  $title  ($(elapsed "$t0")s)"); else RESULTS+=("FAIL  $title  ($(elapsed "$t0")s)"); FAILED=1; fi
  log "${RESULTS[-1]}"
}

# sessions, each as seen by the peer itself (the first waits for the lab to come up)
run_check "bgpd: all $C_NEIGHBORS neighbors Established (bgpd show neighbors)" 90 check_bgpd_neighbors
run_check "vmx: both sessions Established (gobgp neighbor -j)" 30 check_gobgp_neighbors vmx 2
run_check "vmx: IPv4 session, hold 90, 4-octet AS, route refresh, graceful restart (gobgp neighbor)" 20 check_vmx_session "$RS" ipv4-unicast
run_check "vmx: IPv6 session, same capabilities (gobgp neighbor)" 20 check_vmx_session "$RS6" ipv6-unicast
for n in "${NODES[@]}"; do
  run_check "$n: IPv4 and IPv6 sessions Established (birdc show protocols)" 30 check_bird_protocols "$n"
  run_check "$n: IPv4 session, ADD-PATH, graceful restart, hold 240 (birdc show protocols all)" 20 \
    check_bird_session "$n" "Global_${RS//./_}" ipv4
  run_check "$n: IPv6 session, same capabilities (birdc show protocols all)" 20 \
    check_bird_session "$n" "Global_${RS6//:/_}" ipv6
done
for n in "${FRR_SPEAKERS[@]}"; do
  run_check "$n: IPv4 and IPv6 unicast Established (vtysh show bgp summary json)" 30 check_frr_summary "$n"
  run_check "$n: hold 90, 4-octet AS, route refresh, graceful restart (show bgp neighbors json)" 20 check_frr_session "$n" 90000
done
run_check "$NATIVE: session Established (gobgp neighbor -j)" 30 check_gobgp_neighbors "$NATIVE" 1
run_check "$NATIVE: IPv4 only, hold 90 (gobgp neighbor)" 20 check_native_capabilities
# routes
run_check "vmx: pod blocks from every Calico node, LB /32s from every speaker: next hop, AS path, communities (gobgp global rib)" 30 check_vmx_ipv4
run_check "vmx: IPv6 pod /122s (IPv6 sessions) and LB /128s (IPv4 sessions): next hop, AS path, communities" 30 check_vmx_ipv6
for n in "${NODES[@]}"; do
  run_check "$n: the vMX's IPv4 and IPv6 routes, next hop the vMX (birdc show route all)" 30 check_node_gets_vmx_routes "$n"
  run_check "$n: the speakers' IPv6 /128s with their IPv6 next hops (birdc show route all)" 20 check_node_ipv6 "$n"
done
run_check "bgpd: every pod block class pod, every LB IP class loadbalancer (bgpd show rib)" 20 check_bgpd_classes
run_check "bgpd: prefix log has an announce line for every pod block and LB IP, right class and peer (docker compose logs bgpd)" 10 check_bgpd_prefix_log

if [ $FAILED = 1 ]; then
  echo
  echo "== compose lab: the daemons' logs (last 40 lines each) =="
  dc logs --no-color --tail 40 2>&1 | head -c 60000
fi
if [ $KEEP = 1 ]; then
  log "lab kept up (project $PROJECT): e.g. ${COMPOSE_BASE[*]} -p $PROJECT exec vmx gobgp global rib; Enter ends it"
  read -r -t 1800 _ || true
fi
T_DOWN=$(now)
teardown
TIMES+=("compose down -v $(elapsed "$T_DOWN")s")
print_results
exit $FAILED
