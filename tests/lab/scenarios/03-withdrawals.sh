# shellcheck shell=bash
# Scenario 3: changes are followed by every peer.
#  a) speaker-2 stops announcing 203.0.113.20/32 (service deleted): gone at the vMX and every
#     node; announced again: back.
#  b) Calico node-2 gets a new block 10.244.2.64/26 (IPAM), later releases it: it appears at the
#     vMX, then disappears.
#  c) service IP 203.0.113.50/32 moves from speaker-1 to speaker-2 (the vMX and the nodes then
#     hold exactly one path, via speaker-2: the old one was withdrawn, not left behind).

frr_conf() { # SPEAKER LINES... : configure a running FRR like MetalLB's reload does
  local s=$1 args=() l; shift
  for l in "configure terminal" "$@"; do args+=(-c "$l"); done
  vtysh --vty_socket "$LAB_DIR/$s.vty" -d bgpd "${args[@]}" >/dev/null
}

# absent_everywhere PREFIX FAMILY : neither the vMX nor any node has it
absent_everywhere() {
  local v n r bad=0
  v=$(gobgp_routes vmx "$2")
  [ "$(paths_of "$v" "$1")" = 0 ] || { echo "vMX still has $1:"; grep "^$1 " <<<"$v"; bad=1; }
  for n in node1 node2 node3; do
    r=$(bird_routes "$n")
    [ "$(paths_of "$r" "$1")" = 0 ] || { echo "$n still has $1:"; grep "^$1 " <<<"$r"; bad=1; }
  done
  [ $bad = 0 ]
}

# only_path_everywhere PREFIX FIELD... : the vMX and every node hold exactly one path, as described
only_path_everywhere() {
  local p=$1 v n r bad=0; shift
  v=$(gobgp_routes vmx ipv4)
  { expect "$v" vMX "$p" "$@" && expect_count "$v" vMX "$p" 1; } || { grep "^$p " <<<"$v"; bad=1; }
  for n in node1 node2 node3; do
    r=$(bird_routes "$n")
    { expect "$r" "$n" "$p" "$@" && expect_count "$r" "$n" "$p" 1; } || { grep "^$p " <<<"$r"; bad=1; }
  done
  [ $bad = 0 ]
}

vmx_has() { # PREFIX FIELD...
  local v; v=$(gobgp_routes vmx ipv4)
  expect "$v" vMX "$@" || { echo "--- vMX ---"; echo "$v"; return 1; }
}

scenario_3() {
  # a) withdrawal and re-announcement
  frr_conf spk2 "router bgp 64514" "address-family ipv4 unicast" "no network 203.0.113.20/32"
  eventually 20 "203.0.113.20/32 withdrawn everywhere" absent_everywhere 203.0.113.20/32 ipv4
  frr_conf spk2 "router bgp 64514" "address-family ipv4 unicast" "network 203.0.113.20/32"
  eventually 20 "203.0.113.20/32 back at the vMX and the nodes" \
    only_path_everywhere 203.0.113.20/32 "nh=$V4NET.22" "as=[64514]" "comm=64514:22"

  # b) a new pod block on node-2, then released
  calico_config node2 12 64515 "10.244.2.0/26 10.244.2.64/26" "fd00:10:244:2::/122"
  birdc_in node2 configure >/dev/null
  eventually 20 "new block 10.244.2.64/26 at the vMX" vmx_has 10.244.2.64/26 "nh=$V4NET.12" "as=[64513]"
  calico_config node2 12 64515 "10.244.2.0/26" "fd00:10:244:2::/122"
  birdc_in node2 configure >/dev/null
  eventually 20 "released block 10.244.2.64/26 withdrawn everywhere" absent_everywhere 10.244.2.64/26 ipv4
  vmx_has 10.244.2.0/26 "nh=$V4NET.12"    # the block that stays is untouched

  # c) the service IP moves: speaker-1 withdraws, speaker-2 announces (with its prefix-list entry)
  frr_conf spk1 "router bgp 64514" "address-family ipv4 unicast" "no network 203.0.113.50/32"
  frr_conf spk2 "ip prefix-list $RS-pl-ipv4 seq 50 permit 203.0.113.50/32" \
    "router bgp 64514" "address-family ipv4 unicast" "network 203.0.113.50/32"
  eventually 30 "203.0.113.50/32 only via speaker-2 everywhere" \
    only_path_everywhere 203.0.113.50/32 "nh=$V4NET.22" "as=[64514]" "comm=64514:22"
}
