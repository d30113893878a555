# shellcheck shell=bash
# Scenario 4 (RFC 4456): bgpd reflects in AS 64512 with cluster id 10.255.0.2.
#  - a client's route reaches the other client and the non-client vMX with ORIGINATOR_ID = the
#    client's router id and CLUSTER_LIST = [10.255.0.2]; NEXT_HOP, LOCAL_PREF, MED, communities
#    and the (empty) AS_PATH unchanged;
#  - the non-client vMX's route reaches both clients the same way;
#  - a client never gets its own route back;
#  - IPv6 routes are reflected on the clients' IPv4 sessions with their IPv6 next hops.

check_c2_view() { # FRR client c2 (show bgp ... json)
  local r bad=0
  r=$(frr_route c2 ipv4 10.0.31.0/24; frr_route c2 ipv4 0.0.0.0/0; frr_route c2 ipv6 2001:db8:31::/48; frr_route c2 ipv6 ::/0)
  expect "$r" c2 10.0.31.0/24 "nh=$V4NET.31" "as=[]" "med=31" "lp=131" "comm=64512:31" "orig=$V4NET.31" "cluster=$CLUSTER_ID" || bad=1
  expect "$r" c2 0.0.0.0/0 "nh=$V4NET.1" "as=[]" "orig=$V4NET.1" "cluster=$CLUSTER_ID" || bad=1
  expect "$r" c2 2001:db8:31::/48 "nh=$V6NET::31" "orig=$V4NET.31" "cluster=$CLUSTER_ID" || bad=1
  expect "$r" c2 ::/0 "nh=$V6NET::1" "orig=$V4NET.1" "cluster=$CLUSTER_ID" || bad=1
  [ $bad = 0 ] || { echo "--- c2 (FRR): show bgp ipv4/ipv6 unicast PREFIX json ---"; echo "$r"; return 1; }
}

check_c1_view() { # GoBGP client c1
  local r bad=0
  r=$(gobgp_routes c1 ipv4; gobgp_routes c1 ipv6)
  expect "$r" c1 10.0.32.0/24 "nh=$V4NET.32" "as=[]" "lp=150" "comm=64512:32" "orig=$V4NET.32" "cluster=$CLUSTER_ID" || bad=1
  expect "$r" c1 192.0.2.0/24 "nh=$V4NET.1" "as=[]" "med=50" "comm=64512:100" "orig=$V4NET.1" "cluster=$CLUSTER_ID" || bad=1
  expect "$r" c1 2001:db8:32::/48 "nh=$V6NET::32" "orig=$V4NET.32" "cluster=$CLUSTER_ID" || bad=1
  [ $bad = 0 ] || { echo "--- c1 (GoBGP): gobgp -j global rib ---"; echo "$r"; return 1; }
}

check_vmx_view() { # non-client vMX gets client routes
  local r bad=0
  r=$(gobgp_routes vmx ipv4; gobgp_routes vmx ipv6)
  expect "$r" vMX 10.0.31.0/24 "nh=$V4NET.31" "med=31" "lp=131" "orig=$V4NET.31" "cluster=$CLUSTER_ID" || bad=1
  expect "$r" vMX 10.0.32.0/24 "nh=$V4NET.32" "lp=150" "orig=$V4NET.32" "cluster=$CLUSTER_ID" || bad=1
  expect "$r" vMX 2001:db8:31::/48 "nh=$V6NET::31" "orig=$V4NET.31" "cluster=$CLUSTER_ID" || bad=1
  [ $bad = 0 ] || { echo "--- vMX (GoBGP, non-client): gobgp -j global rib ---"; echo "$r"; return 1; }
}

check_no_reflection_back() {
  local a
  a=$(gobgp_adj_in c1 "$RS" ipv4)
  grep -qx "10.0.31.0/24" <<<"$a" || return 0
  echo "c1 received its own 10.0.31.0/24 back from the reflector:"; echo "$a"; return 1
}

scenario_4() {
  eventually 40 "c2 (FRR client) sees reflected routes with ORIGINATOR_ID/CLUSTER_LIST" check_c2_view
  eventually 20 "c1 (GoBGP client) sees reflected routes with ORIGINATOR_ID/CLUSTER_LIST" check_c1_view
  eventually 20 "the non-client vMX sees client routes with ORIGINATOR_ID/CLUSTER_LIST" check_vmx_view
  always 2 "c1 never gets its own route back" check_no_reflection_back
}
