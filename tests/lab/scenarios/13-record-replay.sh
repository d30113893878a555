# shellcheck shell=bash
# Scenario 13 (issue 9): record -> replay round trip with the lab's real peers.
#  1. bgpd (the route server) restarts with a [recording] section: every session comes up again
#     and everything is recorded from the first OPEN on (MRT BGP4MP_ET, one file).
#  2. A service IP moves between MetalLB speakers (203.0.113.20/32 from speaker-2's FRR to
#     speaker-1's); Calico node-1's BIRD gets block 10.244.1.128/26, is killed and restarted
#     with graceful restart (`bird -R`), having released that block meanwhile (kept as stale
#     while it is down, flushed after its End-of-RIB).
#  3. The recording is copied while every session is up; `bgpdump -m` and `bgpd mrt` print the
#     same lines for it, and both show the routes of the scenario.
#  4. A fresh bgpd (same configuration, every neighbor passive, no TCP-MD5) runs in its own
#     namespace "replay" whose loopback holds the peers' addresses; `bgpd replay` plays each
#     recorded peer into it from that peer's address. Its Loc-RIB and its prefix log (lines
#     without timestamps, sorted) must equal the original's; a mismatch fails with the diff.
EXTRA_RS+=(13)
# shellcheck disable=SC2034 # read by run.sh
TITLE[13]="record -> replay: graceful restart and a moving service IP, replayed into a fresh bgpd, same Loc-RIB and prefix log"

RR_SPEED=4   # the recording is replayed four times faster than it happened

# rr_rib NAMESPACE : a bgpd's Loc-RIB, one sorted line per path, without ages
rr_rib() {
  inside "$1" "$BGPD" show rib --json 2>/dev/null | jq -r '.[] | [.prefix, .family, .peer, .path_id, .best,
    .next_hop, (.as_path | tostring), .origin, .med, .local_pref, (.communities | tostring),
    (.large_communities | tostring), .class, .stale] | map(tostring) | join(" ")' | sort
}

# rr_prefix_log LOGFILE FROM TO : bgpd's prefix log lines FROM..TO of LOGFILE, timestamps dropped,
# sorted (sessions run in parallel, so only the order within one peer is meaningful)
rr_prefix_log() {
  sed -n "$2,$3p" "$1" | jq -c 'select(.target == "bgpd::prefix" and .prefix != null) | del(.timestamp)' 2>/dev/null | sort
}

rr_log_lines() { wc -l <"$1" | tr -d ' '; }

# rr_received DUMP : the lines of a `bgpdump -m` style dump for what the peers sent and for
# state changes (not the messages bgpd sent)
rr_received() {
  awk -F'|' -v a="$RS" -v b="$RS6" '$1 !~ /LOCAL/ && $4 != a && $4 != b' "$1"
}

# rr_lab_state : what "converged" means: bgpd's Established sessions and what the vMX
# received from bgpd on each of its two sessions
rr_lab_state() {
  printf 'established=%s vmx-from-bgpd-ipv4=%s vmx-from-bgpd-ipv6=%s\n' \
    "$(inside rs "$BGPD" show neighbors --json 2>/dev/null | jq '[.[] | select(.state == "Established")] | length')" \
    "$(gobgp_adj_in vmx "$RS" ipv4 | wc -l)" "$(gobgp_adj_in vmx "$RS6" ipv6 | wc -l)"
}
# rr_converged STATE : the lab is back to STATE (taken before bgpd's restart)
rr_converged() {
  local now; now=$(rr_lab_state)
  [ "$now" = "$1" ] && return 0
  echo "before bgpd's restart: $1"; echo "now:                   $now"; return 1
}
rr_node1_up() {
  local out; out=$(birdc_in node1 show protocols)
  grep -q "^Global_${RS//./_} .*Established" <<<"$out" && grep -q "^Global_${RS6//:/_} .*Established" <<<"$out" && return 0
  echo "$out"; return 1
}
rr_rib_has() { # PREFIX PEER : the original's Loc-RIB has PREFIX from PEER (and from no other peer)
  local r; r=$(rr_rib rs | awk -v p="$1" '$1 == p')
  [ "$(awk '{print $3}' <<<"$r" | sort -u)" = "$2" ] && return 0
  echo "Loc-RIB for $1 (want only from $2):"; echo "$r"; return 1
}
rr_rib_lacks() { # PREFIX
  local r; r=$(rr_rib rs | awk -v p="$1" '$1 == p')
  [ -z "$r" ] && return 0
  echo "Loc-RIB still has $1:"; echo "$r"; return 1
}
rr_same_rib() { # FILE : the replay bgpd's Loc-RIB equals FILE
  local b; b=$(rr_rib replay)
  [ "$b" = "$(cat "$1")" ] && return 0
  diff <(cat "$1") <(echo "$b") | head -40; return 1
}

scenario_13() {
  local from to rec f peers p pids=() n b_lines a_rib=$LAB_DIR/rr-rib-original.txt before
  # 1. bgpd restarts, recording
  mkdir -p "$LAB_DIR/recording"
  printf '\n[recording]\ndirectory = "%s"\n' "$LAB_DIR/recording" >>"$LAB_DIR/rs.toml"
  before=$(rr_lab_state)
  stop_router rs
  from=$(( $(rr_log_lines "$LAB_DIR/rs.log") + 1 ))
  start_bgpd rs "$LAB_DIR/rs.toml"
  eventually 60 "every session and route back after bgpd's restart" rr_converged "$before"

  # 2a. the service IP 203.0.113.20 moves from speaker-2 to speaker-1
  frr_conf spk1 "ip prefix-list $RS-pl-ipv4 seq 60 permit 203.0.113.20/32" \
    "router bgp 64514" "address-family ipv4 unicast" "network 203.0.113.20/32"
  sleep 1
  frr_conf spk2 "router bgp 64514" "address-family ipv4 unicast" "no network 203.0.113.20/32"
  eventually 20 "203.0.113.20/32 only from speaker-1 in bgpd's Loc-RIB" rr_rib_has 203.0.113.20/32 "$V4NET.21"

  # 2b. Calico node-1 gets block 10.244.1.128/26, then restarts with graceful restart, the
  # block released meanwhile
  calico_config node1 11 64515 "10.244.1.0/26 10.244.1.128/26" "fd00:10:244:1::/122"
  birdc_in node1 configure >/dev/null
  eventually 20 "node-1's block 10.244.1.128/26 in bgpd's Loc-RIB" rr_rib_has 10.244.1.128/26 "$V4NET.11"
  stop_router node1 KILL
  sleep 2
  rr_rib_has 10.244.1.128/26 "$V4NET.11" || fail "bgpd did not keep node-1's routes as stale while BIRD was down"
  calico_config node1 11 64515 "10.244.1.0/26" "fd00:10:244:1::/122"
  start node1 "$LAB_DIR/node1.log" bird -R -f -c "$LAB_DIR/node1.conf" -s "$LAB_DIR/node1.ctl" -P "$LAB_DIR/node1.pid"
  eventually 30 "node-1's sessions back" rr_node1_up
  eventually 30 "node-1's released block flushed after its End-of-RIB" rr_rib_lacks 10.244.1.128/26
  sleep 2

  # 3. the recording, copied with every session up
  rr_rib rs >"$a_rib"
  to=$(rr_log_lines "$LAB_DIR/rs.log")
  f=$(find "$LAB_DIR/recording" -name 'updates.all.*.mrt' | sort | head -1)
  [ -n "$f" ] || fail "bgpd wrote no recording in $LAB_DIR/recording" "$(ls -la "$LAB_DIR/recording")"
  rec=$LAB_DIR/rr-recording.mrt
  cp "$f" "$rec"
  bgpdump -m "$rec" >"$LAB_DIR/rr-bgpdump.txt" 2>/dev/null || true
  "$BGPD" mrt "$rec" >"$LAB_DIR/rr-bgpd-mrt.txt" 2>/dev/null || true
  # What the peers sent (and the state changes) must read the same in both. Messages bgpd sent
  # with ADD-PATH (subtype BGP4MP_MESSAGE_AS4_LOCAL_ADDPATH) are compared by count only:
  # bgpdump 1.6.2 prints them as BGP4MP_ET_AP with bgpd's own address as the peer, bgpd mrt as
  # BGP4MP_ET_LOCAL_AP with the receiving peer (see INCIDENTS.md, "Found on the way").
  rr_received "$LAB_DIR/rr-bgpdump.txt" >"$LAB_DIR/rr-bgpdump.received.txt"
  rr_received "$LAB_DIR/rr-bgpd-mrt.txt" >"$LAB_DIR/rr-bgpd-mrt.received.txt"
  cmp -s "$LAB_DIR/rr-bgpdump.received.txt" "$LAB_DIR/rr-bgpd-mrt.received.txt" ||
    fail "bgpdump -m and bgpd mrt differ on what the peers sent (< bgpdump, > bgpd mrt)" \
      "$(diff "$LAB_DIR/rr-bgpdump.received.txt" "$LAB_DIR/rr-bgpd-mrt.received.txt" | head -40)"
  [ "$(wc -l <"$LAB_DIR/rr-bgpdump.txt")" = "$(wc -l <"$LAB_DIR/rr-bgpd-mrt.txt")" ] ||
    fail "bgpdump -m and bgpd mrt print a different number of lines" "$(wc -l "$LAB_DIR"/rr-bgpdump.txt "$LAB_DIR"/rr-bgpd-mrt.txt)"
  n=$(diff "$LAB_DIR/rr-bgpdump.txt" "$LAB_DIR/rr-bgpd-mrt.txt" | grep -c '^<' || true)
  [ "$n" = 0 ] || log "bgpdump -m and bgpd mrt: $n lines (bgpd's own ADD-PATH UPDATEs) labelled differently"
  for p in "|A|$V4NET.11|64513|10.244.1.128/26|" "|W|$V4NET.22|64514|203.0.113.20/32" "|A|$V4NET.21|64514|203.0.113.20/32|" \
    "|A|$V4NET.1|64512|192.0.2.0/24|"; do
    grep -qF -- "$p" "$LAB_DIR/rr-bgpdump.txt" || fail "bgpdump -m of the recording has no line with $p" "$(head -30 "$LAB_DIR/rr-bgpdump.txt")"
  done
  log "recording: $(stat -c %s "$rec") octets, $(wc -l <"$LAB_DIR/rr-bgpdump.txt") bgpdump -m lines, the $(wc -l <"$LAB_DIR/rr-bgpdump.received.txt") for what the peers sent identical in bgpd mrt"

  # 4. replay every recorded peer into a fresh bgpd in namespace "replay"
  peers=$(awk -F'|' '$3 == "A" || $3 == "W" {print $4}' "$LAB_DIR/rr-bgpdump.received.txt" | sort -u)
  for p in $RS $RS6 $peers; do
    case $p in *:*) inside replay ip addr add "$p/128" dev lo nodad ;; *) inside replay ip addr add "$p/32" dev lo ;; esac
  done
  # same configuration: no TCP-MD5 (replay speaks none), every neighbor passive (the peers'
  # addresses are local here), no recording
  sed -e '/^password = /d' -e '/^\[recording\]/,$d' -e 's/^connect_retry = 5$/connect_retry = 5\npassive = true/' \
    "$LAB_DIR/rs.toml" >"$LAB_DIR/replay.toml"
  start_bgpd replay "$LAB_DIR/replay.toml"
  for _ in $(seq 1 50); do inside replay "$BGPD" show neighbors >/dev/null 2>&1 && break; sleep 0.2; done
  for p in $peers; do
    case $p in *:*) n="[$RS6]:179" ;; *) n="$RS:179" ;; esac
    timeout 120 ip netns exec "$(ns replay)" "$BGPD" replay "$rec" --peer "$p" --local-address "$p" \
      --target "$n" --speed "$RR_SPEED" --hold 60 >"$LAB_DIR/rr-replay.$p.out" 2>&1 &
    pids+=($!)
  done
  log "replaying $(wc -w <<<"$peers") recorded peers into the fresh bgpd (speed x$RR_SPEED)"
  if ! eventually 60 "the fresh bgpd's Loc-RIB equals the original's" rr_same_rib "$a_rib"; then
    tail -n 3 "$LAB_DIR"/rr-replay.*.out >&2
    kill "${pids[@]}" 2>/dev/null; return 1
  fi
  # the prefix log: wait until the fresh bgpd has logged as many prefix lines as the original
  n=$(rr_prefix_log "$LAB_DIR/rs.log" "$from" "$to" | wc -l)
  for _ in $(seq 1 40); do
    b_lines=$(rr_log_lines "$LAB_DIR/replay.log")
    [ "$(rr_prefix_log "$LAB_DIR/replay.log" 1 "$b_lines" | wc -l)" -ge "$n" ] && break
    sleep 0.5
  done
  kill "${pids[@]}" 2>/dev/null || true
  rr_prefix_log "$LAB_DIR/rs.log" "$from" "$to" >"$LAB_DIR/rr-prefix-log-original.txt"
  rr_prefix_log "$LAB_DIR/replay.log" 1 "$b_lines" >"$LAB_DIR/rr-prefix-log-replay.txt"
  cmp -s "$LAB_DIR/rr-prefix-log-original.txt" "$LAB_DIR/rr-prefix-log-replay.txt" ||
    fail "the prefix logs differ (< original, > replay)" \
      "$(diff "$LAB_DIR/rr-prefix-log-original.txt" "$LAB_DIR/rr-prefix-log-replay.txt" | head -40)"
  log "Loc-RIB ($(wc -l <"$a_rib") paths) and prefix log ($n lines) of the replay equal the original's"
  stop_router replay
}
