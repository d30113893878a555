# shellcheck shell=bash
# Scenario 15 (issue 8, session security against real peers):
#  A. TTL security (RFC 5082) with MetalLB speaker-2 (FRR). bgpd reloads with `ttl_security = 1`
#     for it (the session restarts, Cease 6/6). FRR still sends with TTL 1: bgpd must never
#     have the session Established (its API, 20 s) while the vMX stays up, and it refuses
#     FRR's connections by their SYN's TTL, with that TTL in its log (since session 23; before,
#     the OPEN FRR queued before bgpd set the minimum TTL on the accepted connection was read,
#     its KEEPALIVEs were not, and bgpd sat in OpenConfirm until its hold timer). FRR then
#     gets `neighbor X ttl-security hops 1`: TTL 255 both ways, Established in both views. Both
#     sides back to no TTL security: Established again.
#  B. Max-prefix with the vMX (GoBGP). bgpd reloads with `max_prefixes = 3` and
#     `max_prefixes_restart = 5` for the vMX's IPv4 session, which holds 2 IPv4 prefixes (the
#     changed restart interval restarts the session with Cease 6/6; the limit alone would not):
#     it comes back and stays up. The vMX announces two more: bgpd sends Cease 6/1 (GoBGP counts
#     one more NOTIFICATION received, bgpd logs the reset) and the session goes down. The vMX
#     withdraws them: after bgpd's restart interval the session is Established again and the
#     vMX's default route is back at node-2. The original configuration is restored.

EXTRA_RS+=(15)
TITLE[15]="TTL security (RFC 5082) with FRR; max-prefix with GoBGP (Cease 6/1, back after the restart interval)"

s15_reload() { kill -HUP "$(cat "$LAB_DIR/rs.daemon.pid")"; }

# s15_config SED_EXPRESSION... : rs.toml = the saved original with these edits, then reload
s15_config() {
  local e args=()
  for e in "$@"; do args+=(-e "$e"); done
  sed "${args[@]}" "$LAB_DIR/rs.toml.s15" >"$LAB_DIR/rs.toml"
  s15_reload
}

s15_frr() { # vtysh configuration lines for speaker-2's router bgp
  local args=(-c "configure terminal" -c "router bgp 64514") l
  for l in "$@"; do args+=(-c "$l"); done
  vtysh --vty_socket "$LAB_DIR/spk2.vty" -d bgpd "${args[@]}"
}
s15_spk2_up() {
  local st; st=$(vtysh_in spk2 "show bgp neighbors $RS json" | jq -r --arg n "$RS" '.[$n].bgpState')
  [ "$st" = Established ] || { echo "speaker-2 (FRR): bgpState \"$st\""; return 1; }
  bgpd_established "$V4NET.22"
}
s15_spk2_refused_vmx_up() {
  local st; st=$(bgpd_state "$V4NET.22")
  [ "$st" != Established ] || { echo "bgpd's API: $V4NET.22 Established although it sends TTL 1"; return 1; }
  bgpd_established "$V4NET.1"
}

s15_syn_ttl_logged() {
  jq -e --arg p "$V4NET.22" 'select(.peer == $p and .ttl == 1 and (.message | test("SYN arrived with TTL 1, below 255")))' \
    "$LAB_DIR/rs.log" >/dev/null 2>&1 && return 0
  echo "bgpd's log has no refusal of $V4NET.22's SYN with TTL 1:"; grep -i "ttl" "$LAB_DIR/rs.log" | tail -5; return 1
}

s15_vmx_json() { gobgp_in vmx -j neighbor "$RS"; }
s15_vmx_notifications() { s15_vmx_json | jq -r '.state.messages.received.notification // 0'; }
s15_vmx_up() {
  local j st; j=$(s15_vmx_json)
  st=$(jq -r '.state.session_state' <<<"$j")
  [ "$st" = 6 ] || { echo "vMX (GoBGP): session_state $st (6 = Established)"; echo "$j"; return 1; }
  bgpd_established "$V4NET.1"
}
s15_vmx_reset_by_max_prefix() { # NOTIFICATIONS_BEFORE
  local n st; n=$(s15_vmx_notifications); st=$(bgpd_state "$V4NET.1")
  [ "$n" -gt "$1" ] || { echo "vMX received $n NOTIFICATIONs (before: $1)"; return 1; }
  [ "$st" != Established ] || { echo "bgpd's API: the vMX is still Established"; return 1; }
  grep -q 'max-prefix reset' "$LAB_DIR/rs.log" || { echo "no max-prefix reset in bgpd's log"; return 1; }
}
s15_default_at_node2() {
  local r; r=$(bird_routes node2 2>&1)
  expect "$r" node-2 0.0.0.0/0 "nh=$V4NET.1" || { echo "$r"; return 1; }
}

scenario_15() {
  cp "$LAB_DIR/rs.toml" "$LAB_DIR/rs.toml.s15"
  eventually 60 "the vMX Established before the scenario" s15_vmx_up
  eventually 60 "speaker-2 Established before the scenario" s15_spk2_up

  log "A: bgpd requires TTL 255 from speaker-2 (ttl_security = 1); FRR still sends TTL 1"
  s15_config "s/^description = \"metallb speaker-2 (FRR)\"\$/&\nttl_security = 1/"
  sleep 1
  always 20 "bgpd never has speaker-2 (TTL 1) Established; the vMX stays up" s15_spk2_refused_vmx_up
  eventually 30 "bgpd refused speaker-2's connection by its SYN's TTL (1), and said so" s15_syn_ttl_logged
  log "A: FRR: neighbor $RS ttl-security hops 1"
  s15_frr "neighbor $RS ttl-security hops 1" >/dev/null
  eventually 120 "speaker-2 Established with TTL security on both sides" s15_spk2_up
  log "A: both sides back to no TTL security"
  s15_frr "no neighbor $RS ttl-security hops 1" >/dev/null
  cp "$LAB_DIR/rs.toml.s15" "$LAB_DIR/rs.toml"
  s15_reload
  eventually 120 "speaker-2 Established again without TTL security" s15_spk2_up

  log "B: bgpd limits the vMX's IPv4 session to 3 prefixes (it holds 2)"
  s15_config "s/^description = \"vMX1\"\$/&\nmax_prefixes = 3\nmax_prefixes_restart = 5/"
  # a changed max_prefixes_restart is a session setting: the reload restarts it (Cease 6/6)
  eventually 60 "the vMX back after the reload" s15_vmx_up
  always 5 "the vMX stays up under its limit" s15_vmx_up
  local before; before=$(s15_vmx_notifications)
  log "B: the vMX announces two more prefixes (4 > 3)"
  gobgp_in vmx global rib -a ipv4 add 192.0.2.64/26 >/dev/null
  gobgp_in vmx global rib -a ipv4 add 192.0.2.128/26 >/dev/null
  eventually 20 "bgpd resets the vMX with Cease 6/1" s15_vmx_reset_by_max_prefix "$before"
  gobgp_in vmx global rib -a ipv4 del 192.0.2.64/26 >/dev/null
  gobgp_in vmx global rib -a ipv4 del 192.0.2.128/26 >/dev/null
  eventually 90 "the vMX Established again after bgpd's restart interval" s15_vmx_up
  eventually 30 "the vMX's default route back at node-2" s15_default_at_node2
  log "B: original configuration restored"
  cp "$LAB_DIR/rs.toml.s15" "$LAB_DIR/rs.toml"
  s15_reload
  eventually 60 "the vMX Established after the restore" s15_vmx_up
}
