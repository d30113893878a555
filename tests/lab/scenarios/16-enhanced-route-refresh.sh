# shellcheck shell=bash
# Scenario 16: enhanced route refresh (RFC 7313) with real peers, both directions.
#  a) bgpd asks Calico node-1 (BIRD) for its routes again (`reset soft-in` sends a ROUTE-REFRESH
#     request): BIRD re-advertises between BoRR and EoRR. bgpd logs the BoRR (node-1's routes
#     stale) and the EoRR with nothing removed, and the vMX still has node-1's pod blocks.
#  b) MetalLB speaker-1 (FRR) asks bgpd for its routes again (`clear bgp ... soft in`): bgpd
#     sends the table between BoRR and EoRR. FRR shows enhanced route refresh negotiated and
#     counts two more ROUTE-REFRESH messages received (the BoRR and the EoRR), bgpd counts
#     the same two sent, and FRR still has the routes it had.

EXTRA_RS+=(16)
TITLE[16]="enhanced route refresh (RFC 7313): BIRD re-advertises to bgpd, bgpd to FRR, between BoRR and EoRR"

# rs_log_from LINE : bgpd's log from LINE on, without the per-prefix lines
rs_log_from() { tail -n +"$1" "$LAB_DIR/rs.log" | grep -v bgpd::prefix; }

# refresh_logged LINE PEER TEXT... : bgpd's log from LINE has a line about PEER with every TEXT
refresh_logged() {
  local from=$1 peer=$2 all lines t; shift 2
  all=$(rs_log_from "$from" | grep -F "\"$peer\"")
  lines=$all
  for t in "$@"; do
    lines=$(grep -F -- "$t" <<<"$lines") || { echo "no line with: $*"; tail -5 <<<"$all"; return 1; }
  done
}

frr_refresh_recv() { # SPEAKER : ROUTE-REFRESH messages FRR received from bgpd
  vtysh_in "$1" "show bgp neighbors $RS json" | jq -r --arg n "$RS" '.[$n].messageStats.routeRefreshRecv'
}

frr_count_at_least() { [ "$(frr_refresh_recv "$1")" -ge "$2" ]; }

bgpd_refresh_sent() { # ADDRESS : ROUTE-REFRESH messages bgpd sent to the neighbor
  inside rs curl -sf --max-time 3 "http://127.0.0.1:8179/api/v1/neighbors/$1" | jq -r '.messages_sent.route_refresh // 0'
}

frr_ipv4_routes() { # SPEAKER : prefixes in FRR's IPv4 table
  vtysh_in "$1" "show bgp ipv4 unicast json" | jq -r '.routes | keys[]' | sort
}

frr_routes_are() { [ "$(frr_ipv4_routes "$1")" = "$2" ]; } # SPEAKER PREFIXES

scenario_16() {
  local from out caps before sent_before routes_before
  # a) BIRD's BoRR/EoRR to bgpd
  from=$(( $(wc -l <"$LAB_DIR/rs.log") + 1 ))
  inside rs curl -sf --max-time 3 -X POST \
    "http://127.0.0.1:8179/api/v1/neighbors/$V4NET.11/reset?kind=soft-in" >/dev/null ||
    fail "bgpd refused a soft-in reset of $V4NET.11"
  eventually 20 "bgpd logs node-1's BoRR" refresh_logged "$from" "$V4NET.11" "enhanced route refresh began (BoRR)"
  eventually 20 "bgpd logs node-1's EoRR, nothing removed" refresh_logged "$from" "$V4NET.11" \
    "enhanced route refresh ended (EoRR received)" '"removed":0'
  out=$(gobgp_routes vmx ipv4)
  expect "$out" vMX 10.244.1.0/26 "nh=$V4NET.11" || { echo "$out"; fail "node-1's block left the vMX after the refresh"; }

  # b) bgpd's BoRR/EoRR to FRR
  out=$(vtysh_in spk1 "show bgp neighbors $RS json")
  caps=$(jq -r --arg n "$RS" '.[$n].neighborCapabilities.enhancedRouteRefresh // "missing"' <<<"$out")
  [ "$caps" = advertisedAndReceived ] || fail "spk1: enhanced route refresh is \"$caps\"" "$out"
  before=$(frr_refresh_recv spk1)
  sent_before=$(bgpd_refresh_sent "$V4NET.21")
  routes_before=$(frr_ipv4_routes spk1)
  vtysh_in spk1 "clear bgp ipv4 unicast $RS soft in" >/dev/null
  eventually 20 "FRR counts bgpd's BoRR and EoRR ($before before)" frr_count_at_least spk1 $((before + 2))
  [ "$(bgpd_refresh_sent "$V4NET.21")" -eq $((sent_before + 2)) ] ||
    fail "bgpd sent $(bgpd_refresh_sent "$V4NET.21") ROUTE-REFRESH messages to spk1, $sent_before before"
  eventually 20 "FRR holds the routes it held" frr_routes_are spk1 "$routes_before"
  log "spk1: ROUTE-REFRESH messages received from bgpd $before -> $(frr_refresh_recv spk1)," \
    "sent by bgpd $sent_before -> $(bgpd_refresh_sent "$V4NET.21");" \
    "IPv4 routes $(wc -l <<<"$routes_before") before and after"
}
