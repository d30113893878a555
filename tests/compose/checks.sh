# shellcheck shell=bash disable=SC2034,SC2086 # (variables read by run.sh; "prefix host" pairs are split on purpose)
# The compose lab's checks: each asserts one thing from the peers' own views, read inside
# their containers with `docker compose exec` (gobgp, birdc, vtysh, bgpd show). Sourced by
# tests/compose/run.sh after tests/lab/lib.sh and tests/lab/views.sh (fail, eventually and the
# one-line-per-path views shared with the namespace lab) and the namespace lab's session and
# route checks (tests/lab/scenarios/01-sessions.sh, 02-routes.sh), whose peer accessors
# gobgp_in / birdc_in / vtysh_in are redefined here to reach a container instead of a
# namespace. What each router announces is in configs/compose/ and docker-compose.yml.
# The namespace lab's check for the vMX's IPv4 routes expects the native speaker at .24 with
# 203.0.113.40/32 and community 64514:400; the compose lab's native speaker is exactly that.

RS=$V4NET.2
RS6=$V6NET::2
NODES=(calico-node-1 calico-node-2 calico-node-3)
FRR_SPEAKERS=(metallb-speaker-1 metallb-speaker-2)
NATIVE=metallb-native
# "prefix host" pairs: who announces what (configs/compose/<service>/), under the names the
# namespace lab's checks read (tests/lab/topology.sh): its routes without its speaker-3 (.23)
POD_V4=("10.244.1.0/26 11" "10.244.1.64/26 11" "10.244.2.0/26 12" "10.244.3.0/26 13")
POD_V6=("fd00:10:244:1::/122 11" "fd00:10:244:1::40/122 11" "fd00:10:244:2::/122 12" "fd00:10:244:3::/122 13")
LB_V4=("203.0.113.10/32 21" "203.0.113.50/32 21" "203.0.113.20/32 22" "203.0.113.40/32 24")
LB_V6=("2001:db8:113::10/128 21" "2001:db8:113::20/128 22")
LB_SHARED=203.0.113.100/32   # externalTrafficPolicy: Cluster, announced by speaker-1 and -2
C_NEIGHBORS=11                  # bgpd's neighbors: vMX x2, Calico x3 x2 families, MetalLB x3

# within SECONDS DESCRIPTION FUNCTION ARGS... : call FUNCTION until it succeeds or SECONDS of
# wall-clock time pass (lib.sh's `eventually` counts tries, and one `docker compose exec` takes
# about a second here); on timeout FUNCTION's last evidence is shown with `fail`
within() {
  local secs=$1 what=$2 deadline out; shift 2
  deadline=$((SECONDS + secs))
  while :; do
    out=$("$@" 2>&1) && return 0
    [ $SECONDS -ge $deadline ] && break
    sleep 0.5
  done
  fail "not true within ${secs}s: $what" "$out"
}

# --- the peers' own CLIs, inside their containers ------------------------------------------
dc() { "${COMPOSE[@]}" "$@"; }
gobgp_in() { local n=$1; shift; dc exec -T "$n" gobgp "$@"; }
birdc_in() { local n=$1; shift; dc exec -T "$n" birdc "$@"; }
vtysh_in() { local n=$1; shift; dc exec -T "$n" vtysh -d bgpd -c "$@"; }
bgpd_in() { dc exec -T bgpd bgpd "$@"; }

# --- sessions ------------------------------------------------------------------------------
# bgpd's own table: every configured neighbor Established
check_bgpd_neighbors() {
  local out bad
  out=$(bgpd_in show neighbors --json)
  bad=$(jq -r --argjson n "$C_NEIGHBORS" '
    (if length != $n then "bgpd lists \(length) neighbors, expected \($n)" else empty end),
    (.[] | select(.state != "Established") |
      "bgpd: \(.address) (\(.description)) is \(.state), last down: \(.last_down_reason // "-")")' <<<"$out") || bad="bgpd show neighbors --json: no JSON"
  [ -z "$bad" ] && return 0
  echo "$bad"; echo "--- bgpd: bgpd show neighbors ---"; bgpd_in show neighbors
  return 1
}

# a GoBGP router (vMX, native speaker): `gobgp neighbor -j`, N neighbors, all Established (6)
check_gobgp_neighbors() { # SERVICE N
  local out bad
  out=$(gobgp_in "$1" neighbor -j)
  bad=$(jq -r --argjson n "$2" '
    (if length != $n then "\(length) neighbors, expected \($n)" else empty end),
    (.[] | select(.state.session_state != 6) |
      "\(.state.neighbor_address // .conf.neighbor_address): session state \(.state.session_state) (6 = Established)")' <<<"$out") || bad="no JSON"
  [ -z "$bad" ] && return 0
  echo "$1: $bad"; echo "--- $1: gobgp neighbor ---"; gobgp_in "$1" neighbor
  return 1
}

# a Calico node (BIRD): `birdc show protocols`, the IPv4 and the IPv6 session Established
check_bird_protocols() { # NODE
  local out p bad=0
  out=$(birdc_in "$1" show protocols)
  for p in "Global_${RS//./_}" "Global_${RS6//:/_}"; do
    awk -v p="$p" '$1 == p && / Established/ {found = 1} END {exit !found}' <<<"$out" ||
      { echo "$1: protocol $p is not Established"; bad=1; }
  done
  [ $bad = 0 ] || { echo "--- $1: birdc show protocols ---"; echo "$out"; return 1; }
}

# a MetalLB FRR speaker: `show bgp summary json`, the session Established for IPv4 and IPv6
check_frr_summary() { # SPEAKER
  local out bad
  out=$(vtysh_in "$1" "show bgp summary json")
  bad=$(jq -r --arg n "$RS" '
    (.ipv4Unicast.peers[$n].state // "absent") as $v4 | (.ipv6Unicast.peers[$n].state // "absent") as $v6 |
    (if $v4 != "Established" then "ipv4 unicast: \($v4)" else empty end),
    (if $v6 != "Established" then "ipv6 unicast: \($v6)" else empty end)' <<<"$out") || bad="no JSON"
  [ -z "$bad" ] && return 0
  echo "$1, neighbor $RS: $bad"; echo "--- $1: show bgp summary json ---"; echo "$out"
  return 1
}

# the MetalLB native speaker (GoBGP): IPv4 only, hold 90, no graceful restart
check_native_capabilities() {
  local out bad=0 cap
  out=$(gobgp_in "$NATIVE" neighbor "$RS")
  for cap in "BGP state = ESTABLISHED" "Hold time is 90" "ipv4-unicast:	advertised and received" \
    "4-octet-as:	advertised and received"; do
    grep -qF "$cap" <<<"$out" || { echo "$NATIVE: expected \"$cap\""; bad=1; }
  done
  grep -qF "ipv6-unicast:" <<<"$out" && { echo "$NATIVE: IPv6 unicast listed (the native speaker is IPv4 only)"; bad=1; }
  [ $bad = 0 ] || { echo "--- $NATIVE: gobgp neighbor $RS ---"; echo "$out"; return 1; }
}

# --- routes --------------------------------------------------------------------------------
# The route checks are the namespace lab's (check_vmx_ipv4, check_node_gets_vmx_routes in
# scenarios/02-routes.sh, check_vmx_ipv6, check_node_ipv6 in scenarios/06-dual-stack.sh) over
# the compose lab's POD_/LB_ tables above; bgpd's own view is checked here.

# bgpd's own Loc-RIB: every pod block in class pod, every LB IP in class loadbalancer, from
# the peer that announced it (both paths of the shared service IP)
check_bgpd_classes() {
  local out lines bad=0 e
  local -a want=()
  out=$(bgpd_in show rib --json)
  lines=$(jq -r '.[] | "\(.prefix) peer=\(.peer) nh=\(.next_hop) class=\(.class // "none")"' <<<"$out") ||
    { echo "bgpd show rib --json: no JSON"; echo "$out"; return 1; }
  for e in "${POD_V4[@]}"; do set -- $e; want+=("$1 peer=$V4NET.$2 class=pod"); done
  for e in "${POD_V6[@]}"; do set -- $e; want+=("$1 peer=$V6NET::$2 class=pod"); done
  for e in "${LB_V4[@]}"; do set -- $e; want+=("$1 peer=$V4NET.$2 class=loadbalancer"); done
  for e in "${LB_V6[@]}"; do set -- $e; want+=("$1 peer=$V4NET.$2 class=loadbalancer"); done
  want+=("$LB_SHARED peer=$V4NET.21 class=loadbalancer" "$LB_SHARED peer=$V4NET.22 class=loadbalancer")
  for e in "${want[@]}"; do
    set -- $e
    path_with "$lines" "$1" "$2" "$3" || { echo "expected at bgpd: $e"; bad=1; }
  done
  [ $bad = 0 ] || { echo "--- bgpd: bgpd show rib ---"; bgpd_in show rib; return 1; }
}

# bgpd's prefix log (`docker compose logs bgpd`): an INFO line for every pod block and LB IP with its
# class and the peer it came from, what a network engineer reads first
check_bgpd_prefix_log() {
  local log bad=0 e
  log=$(dc logs --no-color bgpd 2>&1 | grep -F 'bgpd::prefix: announce ')
  for e in "${POD_V4[@]}"; do set -- $e; prefix_logged "$log" "$1" pod "$V4NET.$2" || bad=1; done
  for e in "${POD_V6[@]}"; do set -- $e; prefix_logged "$log" "$1" pod "$V6NET::$2" || bad=1; done
  for e in "${LB_V4[@]}" "${LB_V6[@]}"; do set -- $e; prefix_logged "$log" "$1" loadbalancer "$V4NET.$2" || bad=1; done
  [ $bad = 0 ] || { echo "--- bgpd: docker compose logs bgpd | grep 'bgpd::prefix: announce' ---"; echo "$log"; return 1; }
}
prefix_logged() { # LOG PREFIX CLASS PEER
  grep -qF "bgpd::prefix: announce $2 $3 peer=$4 " <<<"$1" && return 0
  echo "expected in bgpd's log: announce $2 $3 peer=$4"
  return 1
}
