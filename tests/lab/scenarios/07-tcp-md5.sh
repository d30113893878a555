# shellcheck shell=bash
# Scenario 7 (RFC 2385 TCP-MD5): Calico node-3's IPv4 session (BIRD `password`) and MetalLB
# speaker-1's session (FRR `neighbor X password`) carry a key, the same on both sides.
#  - both sessions are Established in the peers' own views (birdc, vtysh json) and in bgpd's
#    API (`/api/v1/neighbors/ADDR`);
#  - node-3's BIRD restarted with a WRONG key: its IPv4 session never reaches Established
#    (BIRD's view and bgpd's API, 15 s) while speaker-1 (MD5), node-3's IPv6 session (no
#    key) and the vMX stay Established;
#  - restarted with the right key: the session returns and its pod block is back at the vMX.

N3_V4="Global_${RS//./_}"
N3_V6="Global_${RS6//:/_}"

bgpd_state() { # ADDRESS -> bgpd's state of that neighbor (its API, inside bgpd's namespace)
  inside rs curl -sf --max-time 3 "http://127.0.0.1:8179/api/v1/neighbors/$1" | jq -r .state
}
bgpd_established() { # ADDRESS
  local st; st=$(bgpd_state "$1")
  [ "$st" = Established ] || { echo "bgpd's API: neighbor $1 state \"$st\""; return 1; }
}
bird_state() { # NODE PROTOCOL -> "Established", "Active", ... from `birdc show protocols all`
  birdc_in "$1" show protocols all "$2" | sed -n 's/^ *BGP state: *//p'
}
node3_md5_up() {
  local st; st=$(bird_state node3 "$N3_V4")
  [ "$st" = Established ] || { echo "node3 $N3_V4: BGP state \"$st\""; birdc_in node3 show protocols all "$N3_V4"; return 1; }
  bgpd_established "$V4NET.13"
}
spk1_md5_up() {
  local out st
  out=$(vtysh_in spk1 "show bgp neighbors $RS json")
  st=$(jq -r --arg n "$RS" '.[$n].bgpState' <<<"$out")
  [ "$st" = Established ] || { echo "spk1: bgpState \"$st\""; echo "$out"; return 1; }
  bgpd_established "$V4NET.21"
}
# the wrong key: node-3's IPv4 session down on both sides, everything else up
wrong_key_down_others_up() {
  local st bad=0
  st=$(bird_state node3 "$N3_V4")
  [ "$st" != Established ] || { echo "node3 $N3_V4 Established with a wrong key"; bad=1; }
  st=$(bgpd_state "$V4NET.13")
  [ "$st" != Established ] || { echo "bgpd's API: $V4NET.13 Established with a wrong key"; bad=1; }
  st=$(bird_state node3 "$N3_V6")
  [ "$st" = Established ] || { echo "node3 $N3_V6 (no key): BGP state \"$st\""; bad=1; }
  spk1_md5_up || bad=1
  bgpd_established "$V4NET.1" || bad=1
  [ $bad = 0 ] || { echo "--- node3: birdc show protocols ---"; birdc_in node3 show protocols; return 1; }
}
node3_v6_up() {
  local st; st=$(bird_state node3 "$N3_V6")
  [ "$st" = Established ] || { echo "node3 $N3_V6: BGP state \"$st\""; return 1; }
}
node3_block_at_vmx() {
  local v; v=$(gobgp_routes vmx ipv4)
  expect "$v" vMX 10.244.3.0/26 "nh=$V4NET.13" "as=[64513]" || { echo "$v"; return 1; }
}
node3_conf_has_key() { grep -qF "password \"$1\";" "$LAB_DIR/node3.conf" || { echo "node3.conf has no password \"$1\""; return 1; }; }

scenario_7() {
  # the keys really are configured on both sides (not a session that came up without MD5)
  node3_conf_has_key "$MD5_KEY_NODE3"
  grep -qF "neighbor $RS password $MD5_KEY_SPK1" "$LAB_DIR/spk1.frr" || fail "spk1.frr has no password"
  grep -qF "password = \"$MD5_KEY_SPK1\"" "$LAB_DIR/rs.toml" || fail "rs.toml has no password for spk1"
  eventually 30 "node-3's IPv4 session with TCP-MD5 Established (BIRD and bgpd)" node3_md5_up
  eventually 30 "speaker-1's session with TCP-MD5 Established (FRR and bgpd)" spk1_md5_up
  eventually 10 "node-3's pod block at the vMX" node3_block_at_vmx

  # node-3's BIRD restarted with a wrong key
  stop_router node3
  calico_config node3 13 64515 "$(node_blocks_v4 13)" "$(node_blocks_v6 13)" "wrong-$MD5_KEY_NODE3"
  node3_conf_has_key "wrong-$MD5_KEY_NODE3"
  start_bird node3
  # BIRD dials again every 2 s (connect delay time 2): bgpd takes its connection during the
  # IdleHold back-off that BIRD's Cease started (session 23; before, bgpd refused it and a
  # back-off grown by earlier failures once kept the session down for 30 s).
  eventually 15 "node-3's IPv6 session (no key) back after the restart" node3_v6_up
  always 15 "node-3's IPv4 session with a wrong key stays down; the others stay up" wrong_key_down_others_up

  # restored with the right key
  stop_router node3
  calico_config node3 13 64515 "$(node_blocks_v4 13)" "$(node_blocks_v6 13)" "$MD5_KEY_NODE3"
  start_bird node3
  eventually 30 "node-3's IPv4 session back with the right key (BIRD and bgpd)" node3_md5_up
  eventually 15 "node-3's pod block back at the vMX" node3_block_at_vmx
}
