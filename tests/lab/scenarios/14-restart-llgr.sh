# shellcheck shell=bash
# Scenario 14: bgpd as graceful-restart RESTARTING speaker (RFC 4724 §4.1) and as long-lived
# graceful restart HELPER (RFC 9494), asserted from the peers' own views.
#
# Setup: long-lived graceful restart on the vMX (GoBGP, both sessions) and on Calico node-1
# (BIRD: graceful restart time 5 s, long-lived stale time 20 s); bgpd reloads a config with
# `long_lived_stale_time` for the vMX and Calico groups and a [graceful_restart] state file.
#
# A. bgpd restarts gracefully: SIGUSR1 (state file written, sessions closed without
#    NOTIFICATION), a gap of a few seconds, bgpd started again. Throughout, a watcher compares
#    the vMX's routes (GoBGP), node-2's (BIRD) and speaker-1's service IPs at the vMX with the
#    snapshot taken before: nothing may go missing or change. After the restart FRR saw the
#    R bit, bgpd ended its selection deferral, and the vMX's routes are no longer stale.
# B. node-1's BIRD is killed (-9): its blocks stay unchanged for the GR time (5 s), then become
#    LLGR-stale: the vMX (LLGR) sees them with community 65535:6, the native MetalLB speaker
#    (GoBGP without LLGR; its Adj-RIB-In before its own policy) loses them, bgpd's API shows llgr_stale; they are flushed after the stale time (20 s).
#    node-1 restarts and its blocks return without 65535:6.

EXTRA_RS+=(14)
TITLE[14]="bgpd restarts gracefully (RFC 4724 restarting speaker); node-1 killed under long-lived graceful restart (RFC 9494 helper)"

S14_STALE=20    # long-lived stale time (bgpd, BIRD node-1, GoBGP vMX)
S14_GR=5        # node-1's graceful restart time
S14_DEFERRAL=20 # bgpd's selection deferral timer

s14_bgpd_pid() { cat "$LAB_DIR/rs.daemon.pid"; }
s14_bgpd_log() { grep -v '"bgpd::prefix"' "$LAB_DIR/rs.log"; }

# the views compared before, during and after bgpd's restart
s14_view() {
  echo "== vMX ipv4"; gobgp_routes vmx ipv4
  echo "== vMX ipv6"; gobgp_routes vmx ipv6
  echo "== node-2"; bird_routes node2
}
s14_settled() { # the vMX has every pod block; node-2 the vMX's routes and a service IP
  local v4 n2 h b
  v4=$(gobgp_routes vmx ipv4); n2=$(bird_routes node2)
  for h in 11 12 13; do for b in $(node_blocks_v4 $h); do expect "$v4" vMX "$b" "nh=$V4NET.$h" || return 1; done; done
  expect "$n2" node-2 0.0.0.0/0 "nh=$V4NET.1" || return 1
  expect "$n2" node-2 203.0.113.10/32 "nh=$V4NET.21" || return 1
}
vmx_paths_stale() { gobgp_in vmx -j global rib -a "$1" | jq '[.[][] | select(.stale == true)] | length'; }
vmx_nothing_stale() {
  local a b; a=$(vmx_paths_stale ipv4); b=$(vmx_paths_stale ipv6)
  [ "$a" = 0 ] && [ "$b" = 0 ] && return 0
  echo "vMX still holds stale paths: ipv4 $a, ipv6 $b"; return 1
}
vmx_some_stale() { [ "$(vmx_paths_stale ipv4)" -gt 0 ] || { echo "no stale path at the vMX"; return 1; }; }
bgpd_gone() { ! kill -0 "$1" 2>/dev/null; }
bgpd_deferral_over() { s14_bgpd_log | grep -q 'selection deferral over' || { echo "bgpd has not ended its selection deferral"; s14_bgpd_log | tail -5; return 1; }; }
frr_saw_restart_bit() {
  local j; j=$(vtysh_in spk1 "show bgp neighbors $RS json")
  jq -e --arg n "$RS" '.[$n].gracefulRestartInfo.rBit == true' <<<"$j" >/dev/null && return 0
  echo "speaker-1 (FRR) did not see the R bit:"; jq --arg n "$RS" '.[$n].gracefulRestartInfo' <<<"$j"; return 1
}

# watcher: compares the views with the snapshot every 0.5 s until told to stop (at most 120 s)
s14_watch() {
  local now
  set +e
  for _ in $(seq 1 240); do
    [ -f "$LAB_DIR/s14.stop" ] && return 0
    now=$(s14_view 2>&1)
    if [ "$now" != "$(cat "$LAB_DIR/s14.before")" ]; then
      { echo "--- $(date +%T.%N) differs from before:"; diff <(cat "$LAB_DIR/s14.before") <(echo "$now"); } >>"$LAB_DIR/s14.lost"
    fi
    sleep 0.5
  done
}

node1_blocks_at_vmx() { # FAMILY WANT(plain|llgr) PREFIX...
  local fam=$1 want=$2 v p nh bad=0; shift 2
  v=$(gobgp_routes vmx "$fam")
  nh=$( [ "$fam" = ipv4 ] && echo "$V4NET.11" || echo "$V6NET::11")
  for p in "$@"; do
    expect "$v" vMX "$p" "nh=$nh" || { bad=1; continue; }
    if [ "$want" = llgr ]; then
      grep -E "^$p .*comm=([^ ]*,)?65535:6(,| |\$)" <<<"$v" >/dev/null || { echo "expected at vMX: $p with 65535:6 (LLGR_STALE)"; bad=1; }
    else
      grep -E "^$p .*65535:6" <<<"$v" >/dev/null && { echo "vMX: $p carries 65535:6 already"; bad=1; }
    fi
  done
  [ $bad = 0 ] || { echo "--- vMX: gobgp -j global rib -a $fam ---"; echo "$v"; return 1; }
}
node1_blocks_gone_at() { # WHO(vmx4|vmx6|spk4) PREFIX...
  local who=$1 v p bad=0; shift
  case $who in
    vmx4) v=$(gobgp_routes vmx ipv4) ;;
    vmx6) v=$(gobgp_routes vmx ipv6) ;;
    spk4) v=$(gobgp_adj_in spk4 "$RS" ipv4) ;; # what it received, before its own policy
  esac
  for p in "$@"; do [ "$(paths_of "$v" "$p")" = 0 ] || { echo "$who still has $p"; bad=1; }; done
  [ $bad = 0 ] || { echo "--- $who ---"; echo "$v"; return 1; }
}
bgpd_api_llgr_stale() {
  local j; j=$(inside rs "$BGPD" show rib 10.244.1.0/26 --json)
  jq -e 'any(.[]; .stale == true and .llgr_stale == true)' <<<"$j" >/dev/null && return 0
  echo "bgpd's API does not show 10.244.1.0/26 as llgr_stale:"; echo "$j"; return 1
}
spk4_has_node1() { local v; v=$(gobgp_adj_in spk4 "$RS" ipv4); grep -qx 10.244.1.0/26 <<<"$v" || { echo "spk4 adj-in: $v"; return 1; }; }
s14_calico_up() { # bgpd's IPv4 sessions with the three Calico nodes (07-tcp-md5.sh's helper)
  local h; for h in 11 12 13; do bgpd_established "$V4NET.$h" || return 1; done
}
s14_vmx_up() { # the vMX's session, from both ends
  local st; st=$(gobgp_state vmx "$RS")
  [ "$st" = 6 ] || { echo "the vMX's GoBGP: session with $RS in state \"$st\" (6 = Established)"; return 1; }
  bgpd_established "$V4NET.1"
}
node1_sessions_llgr_up() {
  local out; out=$(birdc_in node1 show protocols)
  grep -q "^Global_${RS//./_} .*Established" <<<"$out" && grep -q "^Global_${RS6//:/_} .*Established" <<<"$out" && return 0
  echo "$out"; return 1
}

scenario_14() {
  local v4=(10.244.1.0/26 10.244.1.64/26) v6=(fd00:10:244:1::/122 fd00:10:244:1::40/122) old t0
  # --- setup: LLGR on the vMX, node-1 and bgpd; bgpd's state file ---------------------------
  bgpd_route_server_gr_config "$S14_STALE" "$S14_DEFERRAL"
  # Three disruptions, each waited out on its own so that a slow one is named (one CI run
  # of session 22 timed out on the single 60 s wait for all of them, without saying which).
  kill -HUP "$(s14_bgpd_pid)"
  eventually 30 "bgpd's Calico sessions back after its reload (SIGHUP: Cease 6/6, new sessions)" s14_calico_up
  vmx_llgr_config 64515 "$S14_STALE"
  stop_router vmx
  start_gobgpd vmx
  eventually 20 "the vMX's GoBGP API back" gobgp_api_up vmx
  eventually 30 "the vMX's session with bgpd back after GoBGP's restart" s14_vmx_up
  vmx_announce
  calico_llgr_config node1 11 64515 "${v4[*]}" "${v6[*]}" "$S14_GR" "$S14_STALE"
  birdc_in node1 configure >/dev/null
  eventually 30 "node-1's sessions up" node1_sessions_llgr_up
  eventually 60 "lab settled with long-lived graceful restart configured" s14_settled
  eventually 20 "node-1's blocks at the vMX" node1_blocks_at_vmx ipv4 plain "${v4[@]}"
  eventually 20 "node-1's IPv6 blocks at the vMX" node1_blocks_at_vmx ipv6 plain "${v6[@]}"
  eventually 20 "the native speaker receives node-1's blocks" spk4_has_node1
  sleep 3 # let late UPDATEs arrive before the snapshot

  # --- A. bgpd restarts gracefully ------------------------------------------------------------
  s14_view >"$LAB_DIR/s14.before"
  rm -f "$LAB_DIR/s14.lost" "$LAB_DIR/s14.stop"
  s14_watch &
  local watcher=$!
  old=$(s14_bgpd_pid)
  t0=$(date +%s)
  kill -USR1 "$old"
  eventually 10 "bgpd stopped by SIGUSR1" bgpd_gone "$old"
  [ -f "$LAB_DIR/rs.grstate" ] || fail "bgpd wrote no state file $LAB_DIR/rs.grstate"
  eventually 5 "the vMX holds bgpd's routes as stale (GoBGP helper)" vmx_some_stale
  sleep 3 # the gap: the peers run on what they kept
  start_bgpd rs "$LAB_DIR/rs.toml"
  eventually 60 "bgpd's selection deferral over" bgpd_deferral_over
  log "bgpd: $(s14_bgpd_log | grep 'selection deferral over' | tail -1 | jq -r '"\(.message): \(.reason), \(.still_awaited) peer(s) still awaited"')"
  eventually 20 "speaker-1 (FRR) saw bgpd restarting (R bit)" frr_saw_restart_bit
  eventually 30 "the vMX's routes refreshed (no stale path left)" vmx_nothing_stale
  sleep 2
  touch "$LAB_DIR/s14.stop"
  wait "$watcher" || true
  log "bgpd's graceful restart took $(( $(date +%s) - t0 ))s from SIGUSR1 to refreshed routes"
  [ ! -s "$LAB_DIR/s14.lost" ] || fail "a peer lost or changed a route during bgpd's graceful restart" "$(head -c 6000 "$LAB_DIR/s14.lost")"
  [ "$(s14_view)" = "$(cat "$LAB_DIR/s14.before")" ] || fail "views differ after the restart" "$(diff "$LAB_DIR/s14.before" <(s14_view))"
  [ ! -f "$LAB_DIR/rs.grstate" ] || fail "state file still there after the restart"

  # --- B. node-1 killed under long-lived graceful restart -------------------------------------
  stop_router node1 KILL
  t0=$(date +%s)
  always 3 "node-1's blocks unchanged at the vMX during the GR period" node1_blocks_at_vmx ipv4 plain "${v4[@]}"
  eventually 15 "node-1's blocks LLGR-stale at the vMX (65535:6)" node1_blocks_at_vmx ipv4 llgr "${v4[@]}"
  node1_blocks_at_vmx ipv6 llgr "${v6[@]}"
  log "LLGR-stale at the vMX $(( $(date +%s) - t0 ))s after the kill (GR time ${S14_GR}s)"
  eventually 5 "the native MetalLB speaker (GoBGP, no LLGR) no longer gets node-1's blocks (RFC 9494 §4.3)" node1_blocks_gone_at spk4 "${v4[@]}"
  bgpd_api_llgr_stale
  always 5 "node-1's blocks kept LLGR-stale beyond the GR time" node1_blocks_at_vmx ipv4 llgr "${v4[@]}"
  eventually $((S14_STALE + 10)) "node-1's blocks flushed after the long-lived stale time" node1_blocks_gone_at vmx4 "${v4[@]}"
  node1_blocks_gone_at vmx6 "${v6[@]}"
  log "flushed $(( $(date +%s) - t0 ))s after the kill (GR ${S14_GR}s + stale ${S14_STALE}s)"
  start_bird node1
  eventually 30 "node-1's sessions back" node1_sessions_llgr_up
  eventually 20 "node-1's blocks back at the vMX, not stale" node1_blocks_at_vmx ipv4 plain "${v4[@]}"
}
