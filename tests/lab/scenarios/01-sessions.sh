# shellcheck shell=bash
# Scenario 1: every session Established, with the capabilities each peer says it negotiated:
# 4-octet AS, IPv4/IPv6 unicast, route refresh, graceful restart everywhere; ADD-PATH in both
# directions with BIRD (Calico); the hold time each side expects.

# the vMX (GoBGP): `gobgp neighbor ADDR` lists each capability as "advertised and received"
check_vmx_session() { # ADDR FAMILY
  local out bad=0 cap
  out=$(gobgp_in vmx neighbor "$1")
  for cap in "BGP state = ESTABLISHED" "Hold time is 90" "$2:	advertised and received" \
    "route-refresh:	advertised and received" "graceful-restart:	advertised and received" \
    "4-octet-as:	advertised and received"; do
    grep -qF "$cap" <<<"$out" || { echo "vMX, neighbor $1: expected \"$cap\""; bad=1; }
  done
  [ $bad = 0 ] || { echo "--- vMX: gobgp neighbor $1 ---"; echo "$out"; return 1; }
}

# a Calico node (BIRD): `birdc show protocols all` has the neighbor's capabilities and the session
check_bird_session() { # NODE PROTOCOL FAMILY
  local out caps bad=0 want
  out=$(birdc_in "$1" show protocols all "$2")
  caps=$(awk '/Neighbor capabilities/ {on = 1; next} /Session:/ {on = 0} on' <<<"$out")
  grep -q "BGP state: *Established" <<<"$out" || { echo "$1 $2: not Established"; bad=1; }
  for want in "AF announced: $3" "Route refresh" "Graceful restart" "4-octet AS numbers" "ADD-PATH" "RX: $3" "TX: $3"; do
    grep -qF "$want" <<<"$caps" || { echo "$1 $2: neighbor (bgpd) capability \"$want\" missing"; bad=1; }
  done
  grep -q "Session: .*external.*AS4" <<<"$out" || { echo "$1 $2: session is not external AS4"; bad=1; }
  grep -q "Hold timer: .*/240" <<<"$out" || { echo "$1 $2: hold time is not BIRD's default 240"; bad=1; }
  grep -q "Restart time: 120" <<<"$caps" || { echo "$1 $2: bgpd's restart time is not 120"; bad=1; }
  [ $bad = 0 ] || { echo "--- $1: birdc show protocols all $2 ---"; echo "$out"; return 1; }
}

# a MetalLB speaker (FRR): `show bgp neighbors ADDR json`
check_frr_session() { # SPEAKER HOLD_MS
  local out bad
  out=$(vtysh_in "$1" "show bgp neighbors $RS json")
  bad=$(jq -r --arg n "$RS" --argjson hold "$2" '.[$n] as $p | $p.neighborCapabilities as $c | [
      (if $p.bgpState != "Established" then "state \($p.bgpState)" else empty end),
      (if $c["4byteAs"] != "advertisedAndReceived" then "4-octet AS: \($c["4byteAs"])" else empty end),
      (if ($c.routeRefresh // "" | startswith("advertisedAndReceived") | not) then "route refresh: \($c.routeRefresh)" else empty end),
      (if $c.gracefulRestart != "advertisedAndReceived" then "graceful restart: \($c.gracefulRestart)" else empty end),
      (if $c.multiprotocolExtensions.ipv4Unicast.advertisedAndReceived != true then "ipv4 unicast not negotiated" else empty end),
      (if $c.multiprotocolExtensions.ipv6Unicast.advertisedAndReceived != true then "ipv6 unicast not negotiated" else empty end),
      (if $p.bgpTimerHoldTimeMsecs != $hold then "hold time \($p.bgpTimerHoldTimeMsecs) ms, expected \($hold)" else empty end)
    ] | join("; ")' <<<"$out")
  [ -z "$bad" ] || { echo "$1: $bad"; echo "--- $1: show bgp neighbors $RS json ---"; echo "$out"; return 1; }
}

# the MetalLB native speaker (GoBGP, IPv4 only, hold 90)
check_native_session() {
  local out bad=0 cap
  out=$(gobgp_in spk4 neighbor "$RS")
  for cap in "BGP state = ESTABLISHED" "Hold time is 90" "ipv4-unicast:	advertised and received" \
    "route-refresh:	advertised and received" "4-octet-as:	advertised and received"; do
    grep -qF "$cap" <<<"$out" || { echo "spk4: expected \"$cap\""; bad=1; }
  done
  [ $bad = 0 ] || { echo "--- spk4: gobgp neighbor $RS ---"; echo "$out"; return 1; }
}

scenario_1() {
  local n
  eventually 30 "vMX session over IPv4" check_vmx_session "$RS" ipv4-unicast
  eventually 10 "vMX session over IPv6" check_vmx_session "$RS6" ipv6-unicast
  for n in node1 node2 node3; do
    eventually 30 "$n IPv4 session" check_bird_session "$n" "Global_${RS//./_}" ipv4
    eventually 10 "$n IPv6 session" check_bird_session "$n" "Global_${RS6//:/_}" ipv6
  done
  eventually 30 "spk1 session" check_frr_session spk1 90000
  eventually 10 "spk2 session" check_frr_session spk2 90000
  eventually 10 "spk3 session (hold 9 s)" check_frr_session spk3 9000
  eventually 30 "native speaker session" check_native_session
}
