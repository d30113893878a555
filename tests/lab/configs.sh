# shellcheck shell=bash
# Config generators for the lab's daemons. Each writes $LAB_DIR/<router>.<ext> and shapes the
# daemon like the product it stands for (see ../../../shared/LAB.md):
#   vMX      -> gobgpd      (AS 64512, default route and upstream prefixes, GR helper, hold 90)
#   Calico   -> bird (2)    (Calico's confd templates: blackhole pod blocks exported by BGP,
#                            ADD-PATH on, graceful restart 120 s, hold time unset = 240 s,
#                            one session per family like Calico's bird + bird6)
#   MetalLB  -> FRR bgpd -Z (MetalLB's FRR template: /32 and /128 per service IP, communities,
#                            incoming routes denied, IPv6 on the IPv4 session = dualStackAddressFamily;
#                            without zebra FRR does not know the interface's IPv6 address and would
#                            send ::ffff:198.51.100.x as IPv6 next hop, so the route-map sets it)
#   MetalLB native speaker -> gobgpd (IPv4 only, dials out only, hold 90, ignores what it receives)
#   bgpd     -> target/release/bgpd (route server AS 64515, or route reflector AS 64512) at .2

RS=$V4NET.2
RS6=$V6NET::2

# --- vMX: GoBGP ------------------------------------------------------------------------------
# gobgp_neighbor ADDRESS PEER_AS FAMILY... [hold=N]
gobgp_neighbor() {
  local addr=$1 asn=$2; shift 2
  local hold=90 f
  cat <<C
[[neighbors]]
  [neighbors.config]
    neighbor-address = "$addr"
    peer-as = $asn
  [neighbors.timers.config]
    hold-time = $hold
    connect-retry = 5
  [neighbors.graceful-restart.config]
    enabled = true
    helper-only = true
C
  for f in "$@"; do
    cat <<C
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "$f"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
C
  done
}

# vmx_config RS_AS : the vMX (AS 64512, .1) peering with bgpd over IPv4 (inet) and IPv6 (inet6)
vmx_config() {
  local rs_as=$1
  {
    cat <<C
[global.config]
  as = 64512
  router-id = "$V4NET.1"
  local-address-list = ["$V4NET.1", "$V6NET::1"]
C
    gobgp_neighbor "$RS" "$rs_as" ipv4-unicast
    gobgp_neighbor "$RS6" "$rs_as" ipv6-unicast
    if [ "$rs_as" = 64515 ]; then gobgp_chaos_neighbors; fi
  } >"$LAB_DIR/vmx.toml"
}

# gobgp_chaos_neighbors : the chaos speaker's addresses as passive IPv4 neighbors (scenario 12)
gobgp_chaos_neighbors() {
  local h
  for h in "${CHAOS_HOSTS[@]}"; do
    cat <<C
[[neighbors]]
  [neighbors.config]
    neighbor-address = "$V4NET.$h"
    peer-as = 64515
    description = "chaos speaker (lab scenario 12)"
  [neighbors.timers.config]
    hold-time = $CHAOS_HOLD
    keepalive-interval = $((CHAOS_HOLD / 3))
  [neighbors.transport.config]
    passive-mode = true
  [neighbors.graceful-restart.config]
    enabled = true
    helper-only = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.prefix-limit.config]
      max-prefixes = $CHAOS_MAX_PREFIXES
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
C
  done
}

# The vMX's upstream routes (added with GoBGP's CLI once it runs).
vmx_announce() {
  gobgp_in vmx global rib -a ipv4 add 0.0.0.0/0 >/dev/null
  gobgp_in vmx global rib -a ipv4 add 192.0.2.0/24 med 50 community 64512:100 >/dev/null
  gobgp_in vmx global rib -a ipv6 add ::/0 >/dev/null
  gobgp_in vmx global rib -a ipv6 add 2001:db8:51:100::/56 med 50 community 64512:100 >/dev/null
}

# --- Calico node: BIRD 2 shaped like Calico's confd templates --------------------------------
# calico_config NAME HOST PEER_AS "V4 BLOCKS" "V6 BLOCKS" [MD5_KEY]
# MD5_KEY: TCP-MD5 key of the IPv4 session (Calico's BGPPeer password), none by default
calico_config() {
  local name=$1 host=$2 peer_as=$3 v4=$4 v6=$5 key=${6:-} b
  {
    cat <<C
# Calico node $name (AS 64513) as Calico's confd templates write it (bird.cfg + bird6.cfg,
# bird_aggr.cfg, bird_ipam.cfg), in BIRD 2 syntax. The kernel protocol is left out: the
# namespace has no pods to program.
router id $V4NET.$host;

# bird_aggr.cfg: a blackhole route per IPAM block of this host
protocol static static4 {
  ipv4;
C
    for b in $v4; do echo "  route $b blackhole;"; done
    echo "}"
    echo "protocol static static6 {"
    echo "  ipv6;"
    for b in $v6; do echo "  route $b blackhole;"; done
    echo "}"
    echo
    echo "# export the block itself, nothing beneath it"
    echo "function calico_aggr() {"
    for b in $v4 $v6; do
      echo "  if ( net = $b ) then { accept; }"
      echo "  if ( net ~ $b ) then { reject; }"
    done
    echo "}"
    echo
    echo "# BGPConfiguration prefixAdvertisements: communities per block"
    echo "function apply_communities() {"
    for b in $v4 $v6; do
      echo "  if ( net ~ $b ) then { bgp_community.add((64513, 100)); bgp_large_community.add((64513, 1, $host)); }"
    done
    echo "}"
    cat <<C

# bird_ipam.cfg (call apply_communities() before calico_aggr(): accept ends the filter)
filter calico_export_to_bgp_peers4 {
  apply_communities();
  calico_aggr();
  if ( net ~ 10.244.0.0/16 ) then { accept; }
  reject;
}
filter calico_export_to_bgp_peers6 {
  apply_communities();
  calico_aggr();
  if ( net ~ fd00:10:244::/56 ) then { accept; }
  reject;
}

protocol device { debug { states }; scan time 2; }
protocol direct { debug { states }; ipv4; ipv6; interface -"cali*", -"kube-ipvs*", "*"; }

# Template for all BGP clients (no hold time: BIRD's default 240 s)
template bgp bgp_template {
  debug { states };
  description "Connection to BGP peer";
  local as 64513;
  multihop;
  graceful restart on;
  graceful restart time 120;
  connect delay time 2;
  connect retry time 5;
  error wait time 5,30;
}

# ------------- Global peers -------------
protocol bgp Global_${RS//./_} from bgp_template {
  neighbor $RS as $peer_as;
  source address $V4NET.$host;
$( [ -n "$key" ] && printf '  password "%s";' "$key")
  ipv4 { gateway recursive; import all; export filter calico_export_to_bgp_peers4; add paths on; };
}
protocol bgp Global_${RS6//:/_} from bgp_template {
  neighbor $RS6 as $peer_as;
  source address $V6NET::$host;
  ipv6 { gateway recursive; import all; export filter calico_export_to_bgp_peers6; add paths on; };
}
C
    if [ "$name" = node2 ]; then bird_chaos_protocols; fi
  } >"$LAB_DIR/$name.conf"
}

# bird_chaos_protocols : passive sessions with the chaos speaker's addresses (scenario 12), in
# their own table chaos4 (fed from master4 by a pipe), so that nothing they receive reaches
# master4 and the sessions with bgpd
bird_chaos_protocols() {
  local h
  cat <<C

# ------------- lab scenario 12: the chaos speaker -------------
ipv4 table chaos4;
protocol pipe chaos_feed { table master4; peer table chaos4; export all; import none; }
C
  for h in "${CHAOS_HOSTS[@]}"; do
    cat <<C
protocol bgp Chaos_$h {
  debug { states };
  description "chaos speaker (lab scenario 12)";
  local as 64513;
  neighbor $V4NET.$h as 64515;
  passive on;
  hold time $CHAOS_HOLD;
  keepalive time $((CHAOS_HOLD / 3));
  graceful restart on;
  error wait time 1, 2;
  ipv4 { table chaos4; import all; export all; receive limit $CHAOS_MAX_PREFIXES action restart; };
}
C
  done
}

# --- MetalLB speaker: FRR bgpd shaped like MetalLB's FRR template ----------------------------
# metallb_frr_config NAME HOST MY_AS PEER_AS HOLD "V4 IPS" "V6 IPS" [LOCAL_PREF] [receive] [MD5_KEY]
# LOCAL_PREF: MetalLB's localPref (iBGP only). "receive": accept incoming routes (MetalLB's
# toReceive: all), used by the route-reflector lab's FRR client; MetalLB's default denies them.
# MD5_KEY: TCP-MD5 key (MetalLB's BGPPeer password), none by default.
metallb_frr_config() {
  local name=$1 host=$2 my_as=$3 peer_as=$4 hold=$5 v4=$6 v6=$7 lp=${8:-} receive=${9:-} key=${10:-} ip seq=1
  local in_action=deny
  [ "$receive" = receive ] && in_action=permit
  local keepalive=$((hold / 3))
  {
    cat <<C
frr defaults traditional
hostname $name
log stdout informational
!
C
    for ip in $v4; do echo "ip prefix-list $RS-pl-ipv4 seq $((seq++)) permit $ip"; done
    for ip in $v6; do echo "ipv6 prefix-list $RS-pl-ipv6 seq $((seq++)) permit $ip"; done
    cat <<C
!
route-map $RS-in $in_action 20
!
route-map $RS-out permit 1
 match ip address prefix-list $RS-pl-ipv4
 set community $my_as:$host additive
 set large-community $my_as:1:$host additive
${lp:+ set local-preference $lp}
route-map $RS-out permit 2
 match ipv6 address prefix-list $RS-pl-ipv6
 set ipv6 next-hop global $V6NET::$host
 set community $my_as:$host additive
 set large-community $my_as:1:$host additive
${lp:+ set local-preference $lp}
!
router bgp $my_as
 no bgp ebgp-requires-policy
 no bgp network import-check
 no bgp default ipv4-unicast
 bgp router-id $V4NET.$host
 neighbor $RS remote-as $peer_as
 neighbor $RS timers $keepalive $hold
 neighbor $RS timers connect 5
${key:+ neighbor $RS password $key}
C
    if [ "$name" = spk2 ]; then frr_chaos_neighbors; fi
    cat <<C
 !
 address-family ipv4 unicast
  neighbor $RS activate
  neighbor $RS route-map $RS-in in
  neighbor $RS route-map $RS-out out
C
    if [ "$name" = spk2 ]; then printf '  neighbor CHAOS activate\n  neighbor CHAOS maximum-prefix %s\n' "$CHAOS_MAX_PREFIXES"; fi
    for ip in $v4; do echo "  network $ip"; done
    echo " exit-address-family"
    echo " address-family ipv6 unicast"
    echo "  neighbor $RS activate"
    echo "  neighbor $RS route-map $RS-in in"
    echo "  neighbor $RS route-map $RS-out out"
    for ip in $v6; do echo "  network $ip"; done
    echo " exit-address-family"
  } >"$LAB_DIR/$name.frr"
}

# frr_chaos_neighbors : the chaos speaker's addresses in a passive peer group (scenario 12)
frr_chaos_neighbors() {
  local h
  echo " neighbor CHAOS peer-group"
  echo " neighbor CHAOS remote-as 64515"
  echo " neighbor CHAOS description chaos speaker (lab scenario 12)"
  echo " neighbor CHAOS passive"
  echo " neighbor CHAOS timers $((CHAOS_HOLD / 3)) $CHAOS_HOLD"
  for h in "${CHAOS_HOSTS[@]}"; do echo " neighbor $V4NET.$h peer-group CHAOS"; done
}

# --- MetalLB native speaker: GoBGP dialling out only -----------------------------------------
# metallb_native_config NAME HOST PEER_AS
metallb_native_config() {
  local name=$1 host=$2 peer_as=$3
  cat >"$LAB_DIR/$name.toml" <<C
# MetalLB's native speaker: IPv4 only, dials out only (no listener), hold 90,
# ignores the UPDATEs it receives, no graceful restart.
[global.config]
  as = 64514
  router-id = "$V4NET.$host"
  port = -1
[global.apply-policy.config]
  import-policy-list = ["ignore-received"]
  default-import-policy = "accept-route"
[[defined-sets.neighbor-sets]]
  neighbor-set-name = "route-server"
  neighbor-info-list = ["$RS"]
[[policy-definitions]]
  name = "ignore-received"
  [[policy-definitions.statements]]
    name = "drop-everything-from-the-route-server"
    [policy-definitions.statements.conditions.match-neighbor-set]
      neighbor-set = "route-server"
    [policy-definitions.statements.actions]
      route-disposition = "reject-route"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "$RS"
    peer-as = $peer_as
  [neighbors.timers.config]
    hold-time = 90
    connect-retry = 5
  [neighbors.transport.config]
    local-address = "$V4NET.$host"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
C
}

# --- bgpd as route server (AS 64515), like configs/lab.toml ----------------------------------
# Calico nodes peer once per family like Calico's bird and bird6; the FRR speakers carry IPv6
# on their IPv4 session (MetalLB's dualStackAddressFamily); speaker-3 (spk3) uses hold 9 s for
# the link-cut scenario.
bgpd_route_server_config() {
  local h
  {
    cat <<C
[global]
asn = 64515
router_id = "$RS"
listen = ["0.0.0.0:179", "[::]:179"]
log_level = "info"
prefix_summary_interval = 60

[[classes]]
name = "pod"
prefixes = ["10.244.0.0/16 le 26", "fd00:10:244::/56 le 122"]
origin_as = [64513]

[[classes]]
name = "loadbalancer"
prefixes = ["203.0.113.0/24 le 32", "2001:db8:113::/120 le 128"]
origin_as = [64514]

[[prefix_sets]]
name = "pod-blocks"
prefixes = ["10.244.0.0/16 ge 26 le 26", "fd00:10:244::/56 ge 122 le 122"]

[[prefix_sets]]
name = "lb-ips"
prefixes = ["203.0.113.0/24 ge 32 le 32", "2001:db8:113::/120 ge 128 le 128"]

[[prefix_sets]]
name = "upstream"
prefixes = ["0.0.0.0/0", "::/0", "192.0.2.0/24 le 32", "2001:db8:51::/48 le 64"]

[[policies]]
name = "from-calico"
[[policies.statements]]
name = "pod-blocks"
match = { prefix_set = "pod-blocks" }
action = "accept"

[[policies]]
name = "from-metallb"
[[policies.statements]]
name = "lb-ips"
match = { prefix_set = "lb-ips" }
action = "accept"

[[policies]]
name = "from-vmx"
[[policies.statements]]
name = "upstream"
match = { prefix_set = "upstream" }
action = "accept"

# scenario 12: the chaos speaker's test routes (RFC 2544 benchmark range), so that its
# graceful-restart and flap routes show in the Loc-RIB
[[prefix_sets]]
name = "benchmark-nets"
prefixes = ["198.18.0.0/15 le 32"]

[[policies]]
name = "from-chaos-benchmark-nets"
[[policies.statements]]
name = "benchmark-nets"
match = { prefix_set = "benchmark-nets" }
action = "accept"

[[policies]]
name = "to-clients"
[[policies.statements]]
name = "everything-accepted"
action = "accept"

[[peer_groups]]
name = "vmx"
peer_as = 64512
role = "route-server-client"
hold_time = 90
connect_retry = 5
import_policy = ["from-vmx"]
export_policy = ["to-clients"]

[[peer_groups]]
name = "calico"
peer_as = 64513
role = "route-server-client"
hold_time = 240
connect_retry = 5
add_path = "both"
import_policy = ["from-calico"]
export_policy = ["to-clients"]

[[peer_groups]]
name = "metallb"
peer_as = 64514
role = "route-server-client"
hold_time = 90
passive = true
import_policy = ["from-metallb"]
export_policy = ["to-clients"]

[[neighbors]]
address = "$V4NET.1"
description = "vMX1"
peer_group = "vmx"
families = ["ipv4-unicast"]

[[neighbors]]
address = "$V6NET::1"
description = "vMX1 over IPv6"
peer_group = "vmx"
families = ["ipv6-unicast"]
C
    for h in 11 12 13; do
      cat <<C

[[neighbors]]
address = "$V4NET.$h"
description = "calico node-$((h - 10))"
peer_group = "calico"
families = ["ipv4-unicast"]
$( [ $h = 13 ] && printf 'password = "%s"  # TCP-MD5 (scenario 7)' "$MD5_KEY_NODE3")

[[neighbors]]
address = "$V6NET::$h"
description = "calico node-$((h - 10)) over IPv6 (bird6)"
peer_group = "calico"
families = ["ipv6-unicast"]
C
    done
    cat <<C

[[neighbors]]
address = "$V4NET.21"
description = "metallb speaker-1 (FRR)"
peer_group = "metallb"
password = "$MD5_KEY_SPK1"

[[neighbors]]
address = "$V4NET.22"
description = "metallb speaker-2 (FRR)"
peer_group = "metallb"

[[neighbors]]
address = "$V4NET.23"
description = "metallb speaker-3 (FRR, hold 9 s for the link-cut scenario)"
peer_group = "metallb"
hold_time = 9

[[neighbors]]
address = "$V4NET.24"
description = "metallb native speaker (GoBGP)"
peer_group = "metallb"
families = ["ipv4-unicast"]
C
    for h in "${CHAOS_HOSTS[@]}"; do
      cat <<C

[[neighbors]]
address = "$V4NET.$h"
description = "chaos speaker (lab scenario 12)"
peer_as = 64513
role = "route-server-client"
passive = true
families = ["ipv4-unicast"]
hold_time = $CHAOS_HOLD
send_hold_time = $((CHAOS_HOLD + 2))
max_prefixes = $CHAOS_MAX_PREFIXES
max_prefixes_restart = 5
import_policy = ["from-calico", "from-chaos-benchmark-nets"]
export_policy = ["to-clients"]
C
    done
  } >"$LAB_DIR/rs.toml"
}

# --- route-reflector lab --------------------------------------------------------------------
# bgpd as route reflector in AS 64512 (like configs/route-reflector.toml): c1 (GoBGP) and c2
# (FRR) are clients, the vMX a non-client; cluster id differs from the router id on purpose.
bgpd_route_reflector_config() {
  cat >"$LAB_DIR/rr.toml" <<C
[global]
asn = 64512
router_id = "$RS"
cluster_id = "$CLUSTER_ID"
listen = ["0.0.0.0:179", "[::]:179"]
prefix_summary_interval = 60

[[peer_groups]]
name = "clients"
peer_as = 64512
role = "route-reflector-client"
connect_retry = 5
add_path = "send"

[[neighbors]]
address = "$V4NET.31"
description = "GoBGP iBGP client"
peer_group = "clients"

[[neighbors]]
address = "$V4NET.32"
description = "FRR iBGP client"
peer_group = "clients"

[[neighbors]]
address = "$V4NET.1"
description = "vMX1 (non-client)"
peer_as = 64512
connect_retry = 5
families = ["ipv4-unicast"]

[[neighbors]]
address = "$V6NET::1"
description = "vMX1 over IPv6 (non-client)"
peer_as = 64512
connect_retry = 5
families = ["ipv6-unicast"]
C
}

# rr_client_gobgp_config NAME HOST : a GoBGP iBGP client carrying IPv4 and IPv6 on one IPv4 session
rr_client_gobgp_config() {
  local name=$1 host=$2
  {
    cat <<C
[global.config]
  as = 64512
  router-id = "$V4NET.$host"
  local-address-list = ["$V4NET.$host"]
C
    gobgp_neighbor "$RS" 64512 ipv4-unicast ipv6-unicast
  } >"$LAB_DIR/$name.toml"
}

# --- scenario 14: bgpd restarting gracefully, long-lived graceful restart (RFC 9494) ---------
# vmx_llgr_config RS_AS STALE : vmx_config plus long-lived graceful restart on both sessions
# (GoBGP: long-lived-enabled; per family a long-lived stale time of STALE seconds)
vmx_llgr_config() {
  vmx_config "$1"
  sed -i -e 's/^    helper-only = true$/&\n    long-lived-enabled = true/' \
    -e "s/^      enabled = true\$/&\n    [neighbors.afi-safis.long-lived-graceful-restart.config]\n      enabled = true\n      restart-time = $2/" \
    "$LAB_DIR/vmx.toml"
}

# calico_llgr_config NAME HOST PEER_AS "V4 BLOCKS" "V6 BLOCKS" GR_TIME STALE : calico_config with
# graceful restart time GR_TIME and long-lived graceful restart (stale time STALE) toward bgpd
calico_llgr_config() {
  calico_config "$1" "$2" "$3" "$4" "$5"
  sed -i "s/^  graceful restart time 120;\$/  graceful restart time $6;\n  long lived graceful restart on;\n  long lived stale time $7;/" \
    "$LAB_DIR/$1.conf"
}

# bgpd_route_server_gr_config STALE DEFERRAL : bgpd_route_server_config plus long-lived graceful
# restart (stale time STALE) toward the vMX and the Calico nodes, and [graceful_restart] with a
# state file next to the config and a selection deferral of DEFERRAL seconds
bgpd_route_server_gr_config() {
  bgpd_route_server_config
  sed -i -e "s/^name = \"vmx\"\$/&\nlong_lived_stale_time = $1/" \
    -e "s/^name = \"calico\"\$/&\nlong_lived_stale_time = $1/" "$LAB_DIR/rs.toml"
  cat >>"$LAB_DIR/rs.toml" <<C

[graceful_restart]
state_file = "rs.grstate"
selection_deferral = $2
C
}
