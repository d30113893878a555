# shellcheck shell=bash
# Scenario 8 (RFC 4724, bgpd as helper): Calico node-1's BIRD is killed (-9, no NOTIFICATION).
#  - while it is down, its blocks stay at the vMX (kept as stale, not withdrawn);
#  - it restarts (`bird -R`, as calico-node starts it) with its IPAM changed meanwhile: block
#    10.244.1.64/26 and fd00:10:244:1::40/122 released, 10.244.1.128/26 new;
#  - the sessions return; after its End-of-RIB the vMX has exactly the new set: the refreshed
#    blocks stayed throughout, the released ones are flushed, the new one is there.
# Then MetalLB speaker-2's FRR is killed the same way. FRR announces graceful restart in helper
# mode only (no families in the capability), so RFC 4724 §4.2 keeps nothing: its LB IPs leave
# the vMX at once (well before any restart time), and come back when FRR is restarted.

vmx_has_all() { # FAMILY PREFIX...
  local fam=$1 v p bad=0; shift
  v=$(gobgp_routes vmx "$fam")
  for p in "$@"; do expect "$v" vMX "$p" "nh=$( [ "$fam" = ipv4 ] && echo "$V4NET.11" || echo "$V6NET::11")" "as=[64513]" || bad=1; done
  [ $bad = 0 ] || { echo "--- vMX: gobgp -j global rib -a $fam ---"; echo "$v"; return 1; }
}
vmx_has_none() { # FAMILY PREFIX...
  local fam=$1 v p bad=0; shift
  v=$(gobgp_routes vmx "$fam")
  for p in "$@"; do [ "$(paths_of "$v" "$p")" = 0 ] || { echo "vMX still has $p"; bad=1; }; done
  [ $bad = 0 ] || { echo "--- vMX: gobgp -j global rib -a $fam ---"; echo "$v"; return 1; }
}
node1_down_at_bird_view() { ! birdc_in node1 show protocols >/dev/null 2>&1; }
node1_sessions_up() {
  local out; out=$(birdc_in node1 show protocols)
  grep -q "^Global_${RS//./_} .*Established" <<<"$out" && grep -q "^Global_${RS6//:/_} .*Established" <<<"$out" && return 0
  echo "$out"; return 1
}

spk2_ips_gone() {
  local v; v=$(gobgp_routes vmx ipv4)
  [ "$(paths_of "$v" 203.0.113.20/32)" = 0 ] && return 0
  echo "vMX still has 203.0.113.20/32:"; grep "^203.0.113.20/32 " <<<"$v"
  echo "--- bgpd's log about $V4NET.22 ---"; grep -v bgpd::prefix "$LAB_DIR/rs.log" | grep "$V4NET.22" | tail -4
  return 1
}
spk2_ips_back() {
  local v; v=$(gobgp_routes vmx ipv4)
  expect "$v" vMX 203.0.113.20/32 "nh=$V4NET.22" "as=[64514]" || { echo "$v"; return 1; }
}

scenario_8() {
  local v4_before=(10.244.1.0/26 10.244.1.64/26) v6_before=(fd00:10:244:1::/122 fd00:10:244:1::40/122)
  eventually 20 "node-1's blocks at the vMX before the kill" vmx_has_all ipv4 "${v4_before[@]}"
  stop_router node1 KILL
  eventually 5 "node-1's BIRD gone" node1_down_at_bird_view
  # bgpd sees the TCP connection drop and keeps the routes as stale: the vMX keeps them
  always 6 "node-1's IPv4 blocks kept at the vMX while BIRD is down" vmx_has_all ipv4 "${v4_before[@]}"
  vmx_has_all ipv6 "${v6_before[@]}"

  calico_config node1 11 64515 "10.244.1.0/26 10.244.1.128/26" "fd00:10:244:1::/122"
  start node1 "$LAB_DIR/node1.log" bird -R -f -c "$LAB_DIR/node1.conf" -s "$LAB_DIR/node1.ctl" -P "$LAB_DIR/node1.pid"
  eventually 30 "node-1's sessions back" node1_sessions_up
  eventually 20 "node-1's new IPv4 set at the vMX" vmx_has_all ipv4 10.244.1.0/26 10.244.1.128/26
  eventually 20 "node-1's released IPv4 block flushed" vmx_has_none ipv4 10.244.1.64/26
  eventually 20 "node-1's IPv6 block refreshed" vmx_has_all ipv6 fd00:10:244:1::/122
  eventually 20 "node-1's released IPv6 block flushed" vmx_has_none ipv6 fd00:10:244:1::40/122

  # FRR (graceful restart helper only): nothing is kept
  eventually 20 "speaker-2's service IP at the vMX before the kill" spk2_ips_back
  stop_router spk2 KILL
  eventually 5 "speaker-2's service IP withdrawn at once (FRR listed no graceful-restart families)" spk2_ips_gone
  start_frr spk2
  eventually 40 "speaker-2's service IP back after FRR restarts" spk2_ips_back
}
