# shellcheck shell=bash
# The two labs: who runs where, what each router announces, and how they are brought up.
#
# Route-server lab (bgpd AS 64515 at .2):
#   vmx   .1   gobgpd  AS 64512  0.0.0.0/0, 192.0.2.0/24 (MED 50), ::/0, 2001:db8:51:100::/56
#   node1 .11  bird    AS 64513  10.244.1.0/26 10.244.1.64/26  fd00:10:244:1::/122 fd00:10:244:1::40/122
#   node2 .12  bird    AS 64513  10.244.2.0/26                 fd00:10:244:2::/122
#   node3 .13  bird    AS 64513  10.244.3.0/26                 fd00:10:244:3::/122  (IPv4 session TCP-MD5)
#   spk1  .21  FRR     AS 64514  203.0.113.10 .50 .100 (shared)  2001:db8:113::10  (TCP-MD5)
#   spk2  .22  FRR     AS 64514  203.0.113.20 .100 (shared)      2001:db8:113::20
#   spk3  .23  FRR     AS 64514  203.0.113.30  2001:db8:113::30   hold 9 s (link-cut scenario)
#   spk4  .24  gobgpd  AS 64514  203.0.113.40  (MetalLB native speaker: IPv4 only, dials out)
#   chaos .100 (.101-.111) no daemon: scenario 12 runs `bgpd chaos` from here against the vMX,
#              node2, spk2 (which know it as AS 64515) and bgpd (as AS 64513)
#   replay     no link: scenario 13 replays its recording into a fresh bgpd here (loopback only)
# Route-reflector lab (bgpd AS 64512 at .2, cluster id 10.255.0.2):
#   vmx   .1   gobgpd  AS 64512  non-client: 0.0.0.0/0, 192.0.2.0/24, ::/0, 2001:db8:51:100::/56
#   c1    .31  gobgpd  AS 64512  client: 10.0.31.0/24 (MED 31, LOCAL_PREF 131), 2001:db8:31::/48
#   c2    .32  FRR     AS 64512  client: 10.0.32.0/24 (LOCAL_PREF 150), 2001:db8:32::/48

# "prefix host" pairs: which router announces what in the route-server lab
POD_V4=("10.244.1.0/26 11" "10.244.1.64/26 11" "10.244.2.0/26 12" "10.244.3.0/26 13")
POD_V6=("fd00:10:244:1::/122 11" "fd00:10:244:1::40/122 11" "fd00:10:244:2::/122 12" "fd00:10:244:3::/122 13")
LB_V4=("203.0.113.10/32 21" "203.0.113.50/32 21" "203.0.113.20/32 22" "203.0.113.30/32 23" "203.0.113.40/32 24")
LB_V6=("2001:db8:113::10/128 21" "2001:db8:113::20/128 22" "2001:db8:113::30/128 23")
LB_SHARED=203.0.113.100/32   # externalTrafficPolicy: Cluster, announced by spk1 and spk2
CLUSTER_ID=10.255.0.2
# TCP-MD5 (scenario 7): node-3's IPv4 session and speaker-1's session carry these keys
MD5_KEY_NODE3="calico-node3-md5"
MD5_KEY_SPK1="metallb-spk1-md5"
# Scenario 12's chaos speaker (`bgpd chaos` in namespace "chaos", .100): one source address per
# fault (.101 and up), so that one fault's back-off or max-prefix shutdown never delays the
# next. The vMX (GoBGP), Calico node-2 (BIRD) and MetalLB speaker-2 (FRR) know it as AS 64515 (a
# second route server), bgpd as AS 64513 (a Calico node). Every peer is passive towards it, with
# hold time 6 s and a limit of 50 prefixes, so the other scenarios never see it.
CHAOS_HOSTS=(101 102 103 104 105 106 107 108 109 110 111)
CHAOS_HOLD=6
CHAOS_MAX_PREFIXES=50

node_blocks_v4() { local e; for e in "${POD_V4[@]}"; do [ "${e#* }" = "$1" ] && printf '%s ' "${e% *}"; done; }
node_blocks_v6() { local e; for e in "${POD_V6[@]}"; do [ "${e#* }" = "$1" ] && printf '%s ' "${e% *}"; done; }

# wait_quietly SECONDS FUNCTION ARGS... : like eventually, but only to let the lab settle;
# the scenarios make the assertions
wait_quietly() { local i; for i in $(seq 1 $(($1 * 2))); do "${@:2}" >/dev/null 2>&1 && return 0; sleep 0.5; done; return 0; }
gobgp_api_up() { gobgp_in "$1" global >/dev/null; }
vmx_has_count() { [ "$(gobgp_routes vmx "$1" | wc -l)" -ge "$2" ]; }

build_route_server_lab() {
  local h
  lab_init rs
  add_router rs 2
  add_router vmx 1
  for h in 11 12 13; do add_router "node$((h - 10))" "$h"; done
  for h in 21 22 23 24; do add_router "spk$((h - 20))" "$h"; done
  # scenario 12's chaos speaker: no daemon, one address per fault
  add_router chaos 100
  for h in "${CHAOS_HOSTS[@]}"; do ip -n "$(ns chaos)" addr add "$V4NET.$h/24" dev eth0; done
  # scenario 13's replay target: a namespace without links (only loopback addresses)
  ip netns add "$(ns replay)"
  LAB_NAMESPACES+=("$(ns replay)")
  ip -n "$(ns replay)" link set lo up

  bgpd_route_server_config
  start_bgpd rs "$LAB_DIR/rs.toml"
  vmx_config 64515
  start_gobgpd vmx
  for h in 11 12 13; do
    calico_config "node$((h - 10))" "$h" 64515 "$(node_blocks_v4 "$h")" "$(node_blocks_v6 "$h")" \
      "$( [ $h = 13 ] && echo "$MD5_KEY_NODE3")"
    start_bird "node$((h - 10))"
  done
  metallb_frr_config spk1 21 64514 64515 90 "203.0.113.10/32 203.0.113.50/32 $LB_SHARED" "2001:db8:113::10/128" "" "" "$MD5_KEY_SPK1"
  metallb_frr_config spk2 22 64514 64515 90 "203.0.113.20/32 $LB_SHARED" "2001:db8:113::20/128"
  metallb_frr_config spk3 23 64514 64515 9 "203.0.113.30/32" "2001:db8:113::30/128"
  for h in 1 2 3; do start_frr "spk$h"; done
  metallb_native_config spk4 24 64515
  start_gobgpd spk4

  wait_quietly 20 gobgp_api_up vmx
  wait_quietly 20 gobgp_api_up spk4
  vmx_announce
  gobgp_in spk4 global rib -a ipv4 add 203.0.113.40/32 community 64514:400 >/dev/null
  # settle: every announced prefix at the vMX (IPv4: 2 own + 4 pod + 6 LB; IPv6: 2 + 4 + 3)
  wait_quietly 40 vmx_has_count ipv4 12
  wait_quietly 20 vmx_has_count ipv6 9
}

build_route_reflector_lab() {
  lab_init rr
  add_router rr 2
  add_router vmx 1
  add_router c1 31
  add_router c2 32
  bgpd_route_reflector_config
  start_bgpd rr "$LAB_DIR/rr.toml"
  vmx_config 64512
  start_gobgpd vmx
  rr_client_gobgp_config c1 31
  start_gobgpd c1
  metallb_frr_config c2 32 64512 64512 90 "10.0.32.0/24" "2001:db8:32::/48" 150 receive
  start_frr c2
  wait_quietly 20 gobgp_api_up vmx
  wait_quietly 20 gobgp_api_up c1
  vmx_announce
  gobgp_in c1 global rib -a ipv4 add 10.0.31.0/24 med 31 local-pref 131 community 64512:31 >/dev/null
  gobgp_in c1 global rib -a ipv6 add 2001:db8:31::/48 nexthop "$V6NET::31" community 64512:31 >/dev/null
  wait_quietly 40 vmx_has_count ipv4 4
}
