# shellcheck shell=bash
# Scenario 9: the link of MetalLB speaker-3 (FRR, hold time 9 s on both sides) goes down inside
# its namespace. Both hold timers expire; speaker-3's LB IPs are withdrawn at the vMX and at
# every node (FRR announced graceful restart in helper mode only, without families, so nothing is
# kept as stale: RFC 4724 §4.2); when the link comes back the session and the routes return.

spk3_routes_gone() {
  local v v6 n r bad=0
  v=$(gobgp_routes vmx ipv4); v6=$(gobgp_routes vmx ipv6)
  [ "$(paths_of "$v" 203.0.113.30/32)" = 0 ] || { echo "vMX still has 203.0.113.30/32"; bad=1; }
  [ "$(paths_of "$v6" 2001:db8:113::30/128)" = 0 ] || { echo "vMX still has 2001:db8:113::30/128"; bad=1; }
  for n in node1 node2 node3; do
    r=$(bird_routes "$n")
    [ "$(paths_of "$r" 203.0.113.30/32)" = 0 ] || { echo "$n still has 203.0.113.30/32"; bad=1; }
  done
  [ $bad = 0 ] || { echo "--- bgpd's log about $V4NET.23 ---"; grep -v bgpd::prefix "$LAB_DIR/rs.log" | grep "$V4NET.23" | tail -5; return 1; }
}
spk3_routes_back() {
  local v v6 r
  v=$(gobgp_routes vmx ipv4); v6=$(gobgp_routes vmx ipv6); r=$(bird_routes node2)
  expect "$v" vMX 203.0.113.30/32 "nh=$V4NET.23" "as=[64514]" && expect "$v6" vMX 2001:db8:113::30/128 "nh=$V6NET::23" \
    && expect "$r" node2 203.0.113.30/32 "nh=$V4NET.23" && return 0
  echo "--- vMX ---"; echo "$v"; echo "$v6"; return 1
}
spk3_established() { [ "$(frr_state spk3 "$RS")" = Established ]; }
spk3_hold_expired() { # FRR's own view: its hold timer expired (NOTIFICATION 4/0 sent)
  local out; out=$(vtysh_in spk3 "show bgp neighbors $RS json")
  jq -e --arg n "$RS" '.[$n].lastErrorCodeSubcode == "0400"' <<<"$out" >/dev/null && return 0
  echo "$out" | jq --arg n "$RS" '.[$n] | {bgpState, lastResetDueTo, lastErrorCodeSubcode, lastNotificationReason}'; return 1
}

scenario_9() {
  local t0
  eventually 20 "speaker-3 Established before the cut" spk3_established
  eventually 20 "speaker-3's routes present before the cut" spk3_routes_back
  ip -n "$(ns spk3)" link set eth0 down
  t0=$(date +%s)
  eventually 25 "speaker-3's routes withdrawn everywhere after hold timer expiry (9 s)" spk3_routes_gone
  log "speaker-3's routes withdrawn $(($(date +%s) - t0)) s after the cut"
  grep -v bgpd::prefix "$LAB_DIR/rs.log" | grep "$V4NET.23" | grep -q "hold timer expired" \
    || fail "bgpd's log shows no hold timer expiry for $V4NET.23" "$(grep "$V4NET.23" "$LAB_DIR/rs.log" | tail -5)"
  ip -n "$(ns spk3)" link set eth0 up
  eventually 40 "speaker-3's session back after the link returns" spk3_established
  eventually 20 "speaker-3's hold timer expiry in FRR's own view" spk3_hold_expired
  eventually 20 "speaker-3's routes back" spk3_routes_back
}
