# shellcheck shell=bash
# The lab's plumbing: network namespaces on one bridge, the daemons' processes, teardown,
# bounded waits, and the commands that read each peer's own view.
# Sourced by tests/lab/run.sh. Nothing here sends a packet outside namespaces it created.

LAB_PREFIX="lab$$"            # every namespace is "$LAB_PREFIX-<name>": two runs never collide
LAB_DIR=""                     # configs, logs, sockets and pid files of this run
LAB_NAMESPACES=()              # namespaces created by this run (deleted at teardown)

V4NET=198.51.100
V6NET=2001:db8:51

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ns NAME -> the namespace of router NAME
ns() { printf '%s-%s' "$LAB_PREFIX" "$1"; }

# inside NAME CMD... : run CMD inside router NAME's namespace
inside() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }

# lab_init VARIANT : a fresh work directory and the bridge namespace
lab_init() {
  LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/bgplab.$$.$1.XXXX")
  ip netns add "$(ns sw)"
  LAB_NAMESPACES+=("$(ns sw)")
  ip -n "$(ns sw)" link add br0 type bridge
  ip -n "$(ns sw)" link set br0 up
}

# add_router NAME HOST : namespace NAME with eth0 = 198.51.100.HOST/24, 2001:db8:51::HOST/64,
# its peer end "p-NAME" plugged into the bridge. The veth pair is created directly inside the
# two namespaces, so no interface name ever appears in the machine's own namespace.
add_router() {
  local name=$1 host=$2 n
  n=$(ns "$name")
  ip netns add "$n"
  LAB_NAMESPACES+=("$n")
  ip link add eth0 netns "$n" type veth peer name "p-$name" netns "$(ns sw)"
  ip -n "$(ns sw)" link set "p-$name" master br0 up
  ip -n "$n" link set lo up
  ip -n "$n" addr add "$V4NET.$host/24" dev eth0
  ip -n "$n" addr add "$V6NET::$host/64" dev eth0 nodad
  ip -n "$n" link set eth0 up
}

# start NAME LOGFILE CMD... : start a daemon in router NAME's namespace, in the background.
# Pids go to files (not only variables) because scenarios run in subshells and may restart
# daemons: teardown reads $LAB_DIR/all.pids.
start() {
  local name=$1 logfile=$2; shift 2
  ip netns exec "$(ns "$name")" "$@" >>"$logfile" 2>&1 &
  echo $! >"$LAB_DIR/$name.daemon.pid"
  echo $! >>"$LAB_DIR/all.pids"
}

# stop_router NAME [SIGNAL] : signal the daemon of router NAME and wait (bounded) for it to go
stop_router() {
  local name=$1 sig=${2:-TERM} pid i
  pid=$(cat "$LAB_DIR/$name.daemon.pid" 2>/dev/null) || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$LAB_DIR/$name.daemon.pid"
}

lab_teardown() {
  local pids=() pid n i alive
  [ -n "$LAB_DIR" ] && [ -f "$LAB_DIR/all.pids" ] && mapfile -t pids <"$LAB_DIR/all.pids"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in $(seq 1 30); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  # Anything still running inside our namespaces was started by us (e.g. a daemon's helper).
  for n in "${LAB_NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  for n in "${LAB_NAMESPACES[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  LAB_NAMESPACES=()
  [ -n "$LAB_DIR" ] && rm -f "$LAB_DIR/all.pids"
}

# --- the peers' own views -----------------------------------------------------------------
# gobgp_in NAME ARGS... : GoBGP's CLI against the gobgpd of router NAME (API on its own loopback)
gobgp_in() { local n=$1; shift; inside "$n" gobgp -u 127.0.0.1 -p 50051 "$@"; }
# birdc_in NAME ARGS... : BIRD's CLI on router NAME's control socket
birdc_in() { local n=$1; shift; birdc -s "$LAB_DIR/$n.ctl" "$@"; }
# vtysh_in NAME CMD : FRR's vtysh on router NAME's bgpd (its own vty socket directory)
vtysh_in() { local n=$1; shift; vtysh --vty_socket "$LAB_DIR/$n.vty" -d bgpd -c "$@"; }

# --- bounded waiting and failing with the evidence ----------------------------------------
# fail MESSAGE [EVIDENCE] : print the assertion that failed and the peer's own output, return 1
fail() {
  printf 'FAIL: %s\n' "$1" >&2
  if [ $# -gt 1 ]; then printf -- '--- peer output ---\n%s\n--- end ---\n' "$2" | head -c 12000 >&2; fi
  return 1
}

# eventually SECONDS DESCRIPTION FUNCTION ARGS... : call FUNCTION every 0.5 s until it succeeds
# or SECONDS pass. FUNCTION prints the evidence it looked at; on timeout that evidence is shown.
eventually() {
  local secs=$1 what=$2; shift 2
  local tries=$((secs * 2)) i out
  for i in $(seq 1 "$tries"); do
    if out=$("$@" 2>&1); then return 0; fi
    sleep 0.5
  done
  fail "timed out after ${secs}s waiting for: $what" "$out"
}

# always SECONDS DESCRIPTION FUNCTION ARGS... : FUNCTION must keep succeeding for SECONDS
always() {
  local secs=$1 what=$2; shift 2
  local tries=$((secs * 2)) i out
  for i in $(seq 1 "$tries"); do
    out=$("$@" 2>&1) || { fail "no longer true after $((i / 2))s: $what" "$out"; return 1; }
    sleep 0.5
  done
}

# --- starting each kind of daemon ----------------------------------------------------------
BGPD=${BGPD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target/release/bgpd}

start_bgpd() { # NAME CONFIG
  start "$1" "$LAB_DIR/$1.log" "$BGPD" run --config "$2" --log-format json
}
start_gobgpd() { # NAME (config $LAB_DIR/NAME.toml)
  start "$1" "$LAB_DIR/$1.log" gobgpd -f "$LAB_DIR/$1.toml" --pprof-disable -l info
}
start_bird() { # NAME (config $LAB_DIR/NAME.conf); -f: stay in the foreground so we own its pid
  start "$1" "$LAB_DIR/$1.log" bird -f -c "$LAB_DIR/$1.conf" -s "$LAB_DIR/$1.ctl" -P "$LAB_DIR/$1.pid"
}
start_frr() { # NAME (config $LAB_DIR/NAME.frr): bgpd without zebra, its own vty socket directory
  mkdir -p "$LAB_DIR/$1.vty"
  start "$1" "$LAB_DIR/$1.log" /usr/lib/frr/bgpd -f "$LAB_DIR/$1.frr" -Z -S -n \
    -i "$LAB_DIR/$1.pid" --vty_socket "$LAB_DIR/$1.vty"
}
