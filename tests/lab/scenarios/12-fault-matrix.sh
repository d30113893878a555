# shellcheck shell=bash
# Scenario 12 (issue 9): the fault reaction matrix. `bgpd chaos` runs in the lab namespace
# "chaos" and causes each fault of its catalog against four real speakers at once:
#   bgpd (route server, .2), GoBGP (the vMX, .1), BIRD (Calico node-2, .12), FRR (MetalLB
#   speaker-2, .22).
# Each fault comes from its own address (.101-.111, see CHAOS_HOSTS in configs.sh), so a peer's
# back-off or max-prefix shutdown after one fault never delays the next. Every peer's reaction is
# taken from its own view: the NOTIFICATION chaos received (code/subcode), whether the session
# was reset and after how long, and the routes the peer holds from the chaos address at the
# moments that tell kept / withdrawn / treat-as-withdraw / stale apart (GoBGP `neighbor adj-in`,
# BIRD `show route table chaos4 protocol`, FRR `neighbors ... routes`, bgpd `show rib --in`).
#
# bgpd's reactions are asserted; GoBGP's, BIRD's and FRR's are recorded. The scenario writes the
# matrix as markdown to $LAB_DIR/fault-matrix.md (and to $FAULT_MATRIX when set), prints it,
# and keeps every chaos output in $LAB_DIR/chaos/. INCIDENTS.md holds the measured matrix:
#   FAULT_MATRIX=/tmp/fault-matrix.md flock /tmp/bgpd-lab.lock bash tests/lab/run.sh 12
EXTRA_RS+=(12)
# shellcheck disable=SC2034 # read by run.sh
TITLE[12]="fault matrix: bgpd chaos against bgpd, GoBGP, BIRD and FRR, each reaction from its own view"

# "HOST|CHAOS ARGUMENTS|TIMEOUT|PROBE": PROBE names what to look at in the peers' tables
CHAOS_FAULTS=(
  "101|flap --interval 3 --count 2|30|flap"
  "102|silent|20|none"
  "103|stop-reading|20|none"
  "104|malformed next-hop-length|10|malformed"
  "105|malformed attribute-overrun|10|malformed"
  "106|malformed bad-origin|10|malformed"
  "107|malformed mp-reach-twice|10|malformed"
  "108|malformed open-capability-length|10|none"
  "109|max-prefix 60|10|none"
  "110|graceful-restart --down 3|30|gr"
  "111|wrong-origin|10|origin"
)
CHAOS_TARGETS=(bgpd gobgp bird frr)

chaos_target_ip() {
  case $1 in bgpd) echo "$RS" ;; gobgp) echo "$V4NET.1" ;; bird) echo "$V4NET.12" ;; frr) echo "$V4NET.22" ;; esac
}

# chaos_view TARGET HOST [loc] : the IPv4 prefixes TARGET holds from the chaos address .HOST, one
# per line (bgpd: Adj-RIB-In, or the Loc-RIB with "loc", as "prefix class")
chaos_view() {
  local addr=$V4NET.$2
  case $1 in
    gobgp) gobgp_in vmx -j neighbor "$addr" adj-in -a ipv4 2>/dev/null | jq -r 'keys[]' 2>/dev/null ;;
    bird) birdc_in node2 show route table chaos4 protocol "Chaos_$2" 2>/dev/null |
      awk '$1 ~ /^[0-9]+\.[0-9.]+\/[0-9]+$/ {print $1}' ;;
    frr) vtysh_in spk2 "show bgp ipv4 unicast neighbors $addr routes json" 2>/dev/null |
      jq -r '(.routes // {}) | keys[]' 2>/dev/null ;;
    bgpd) if [ "${3:-}" = loc ]; then
        inside rs "$BGPD" show rib --peer "$addr" --json 2>/dev/null | jq -r '.[] | "\(.prefix) \(.class // "none")"' 2>/dev/null
      else
        inside rs "$BGPD" show rib --peer "$addr" --in --json 2>/dev/null | jq -r '.[].prefix' 2>/dev/null
      fi ;;
  esac | grep -E '^[0-9]+\.[0-9.]+/[0-9]+( |$)' | sort -u
}

# chaos_at FILE PATTERN DELAY : wait (at most 40 s) until chaos printed a line matching
# PATTERN, then DELAY seconds more
chaos_at() {
  for _ in $(seq 1 400); do
    grep -q -- "$2" "$1" 2>/dev/null && { sleep "$3"; return 0; }
    sleep 0.1
  done
  return 1
}

# chaos_probe KIND OUT HOST TARGET : the peer's tables at the moments that matter for KIND,
# as "label: prefixes" lines on stdout
chaos_probe() {
  local kind=$1 out=$2 host=$3 t=$4 v
  set +e   # a probe that finds nothing says so; it never ends early
  case $kind in
    flap)
      chaos_at "$out" "flap 1/.*Established" 1.5 && echo "up: $(chaos_view "$t" "$host" | tr '\n' ' ')"
      # chaos reconnects 1 s after the drop: look until then
      if chaos_at "$out" "flap 1/.*dropped" 0; then
        for _ in 1 2 3 4 5 6 7 8; do
          v=$(chaos_view "$t" "$host" | tr '\n' ' ')
          has_prefix "$v" 198.18.255.0/24 || break
          sleep 0.1
        done
        echo "dropped: $v"
      fi ;;
    malformed)
      chaos_at "$out" "^announced" 1.6 && echo "before: $(chaos_view "$t" "$host" | tr '\n' ' ')"
      chaos_at "$out" "^sent" 2 && echo "after: $(chaos_view "$t" "$host" | tr '\n' ' ')" ;;
    gr) # bgpd: the Loc-RIB, and its Adj-RIB-In as "-in"
      chaos_at "$out" "session killed" 1.5 && chaos_gr_count "$t" "$host" down
      chaos_at "$out" "re-announcing" 1.5 && chaos_gr_count "$t" "$host" after-eor ;;
    origin)
      chaos_at "$out" "^announced" 1.5 && echo "in: $(chaos_view "$t" "$host" | tr '\n' ' ')"
      if [ "$t" = bgpd ]; then
        echo "loc: $(chaos_view bgpd "$host" loc | tr '\n' ' ')"
        echo "audit: $(inside rs "$BGPD" audit --api http://127.0.0.1:8179 --intent "$LAB_DIR/intent.toml" --json 2>/dev/null |
          jq -r '.findings[] | select(.subject | startswith("10.244.200.0/26")) | .check' | sort -u | tr '\n' ' ')"
      fi ;;
  esac
  return 0
}

# chaos_gr_count TARGET HOST LABEL : "LABEL: N" with N of the fault's 10 routes in TARGET's
# table (bgpd: Loc-RIB, then its Adj-RIB-In as "LABEL-in: N")
chaos_gr_count() {
  if [ "$1" = bgpd ]; then
    echo "$3: $(chaos_view bgpd "$2" loc | grep -c '^198\.18\.0\.')"
    echo "$3-in: $(chaos_view bgpd "$2" | grep -c '^198\.18\.0\.')"
  else
    echo "$3: $(chaos_view "$1" "$2" | grep -c '^198\.18\.0\.')"
  fi
}

# chaos_run HOST TARGET TIMEOUT ARGS... : `bgpd chaos` from .HOST against TARGET (bounded)
chaos_run() {
  local host=$1 t=$2 secs=$3 as=64515; shift 3
  [ "$t" = bgpd ] && as=64513
  timeout $((secs + 60)) ip netns exec "$(ns chaos)" "$BGPD" chaos --target "$(chaos_target_ip "$t"):179" \
    --as "$as" --local-address "$V4NET.$host" --router-id "$V4NET.$host" --next-hop "$V4NET.$host" \
    --timeout "$secs" "$@"
}

# --- turning outputs into matrix cells ---------------------------------------------------------
# chaos_reaction OUT : the session-level reaction, in a few words
chaos_reaction() {
  local out=$1 line s n
  if grep -q "^flap " "$out"; then
    s=$(sed -n 's/^flap [0-9]*\/[0-9]*: Established after \([0-9.]*\) s/\1 s/p' "$out" | paste -sd, - | sed 's/,/, /g')
    n=$(grep -c "connection dropped" "$out")
    printf 'Established after %s; %s drops' "${s:-never}" "$n"
    grep -q "^exit=0" "$out" || printf '; chaos: %s' "$(grep -v '^exit=' "$out" | tail -1)"
    return
  fi
  line=$(grep -E "the target|the session is still up" "$out" | tail -1)
  if [ -z "$line" ]; then printf 'chaos failed: %s' "$(grep -v '^exit=' "$out" | tail -1)"; return; fi
  case $line in
    *"still up"*) printf 'session up' ;;
    *"sent a KEEPALIVE"*) printf 'OPEN accepted (KEEPALIVE)' ;;
    *"sent NOTIFICATION"*)
      n=$(sed -n 's/.*NOTIFICATION \([0-9]*\/[0-9]*\) (\([^)]*\)).*/\1 (\2)/p' <<<"$line")
      [ -n "$n" ] || n=$(sed -n 's/.*NOTIFICATION \([0-9]*\/[0-9]*\) data \[\([^]]*\)\].*/\1, data [\2]/p' <<<"$line")
      n=${n%, data []}
      s=$(sed -n 's/.*after \([0-9.]*\) s$/\1 s/p' <<<"$line")
      printf 'NOTIFICATION %s, reset%s' "$n" "${s:+ after $s}" ;;
    *"without a NOTIFICATION"*)
      s=$(sed -n 's/.*after \([0-9.]*\) s$/\1 s/p' <<<"$line")
      printf 'closed without NOTIFICATION%s' "${s:+ after $s}" ;;
    *"sent no NOTIFICATION"*) printf 'no answer%s' "$(grep -q 'closed' <<<"$line" && echo ', closed')" ;;
    *) printf '%s' "$line" ;;
  esac
}

has_prefix() { grep -qw -- "$2" <<<"$1"; }

# chaos_cell KIND OUT PROBE : reaction plus what the peer's table showed
chaos_cell() {
  local kind=$1 out=$2 probe=$3 r a b
  r=$(chaos_reaction "$out")
  case $kind in
    flap)
      a=$(sed -n 's/^up: //p' "$probe"); b=$(sed -n 's/^dropped: //p' "$probe")
      if ! has_prefix "$a" 198.18.255.0/24; then r="$r; route not learned"
      elif has_prefix "$b" 198.18.255.0/24; then r="$r; route kept after the drop"
      else r="$r; route withdrawn at each drop"; fi ;;
    malformed)
      a=$(sed -n 's/^before: //p' "$probe"); b=$(sed -n 's/^after: //p' "$probe")
      if [[ $r == NOTIFICATION* || $r == closed* ]]; then r="$r; routes withdrawn"
      elif ! has_prefix "$a" 10.244.9.0/26; then r="$r; the valid announcement was not in its table"
      elif has_prefix "$b" 10.244.9.0/26; then r="$r; route kept (attribute ignored or discarded)"
      elif has_prefix "$b" 10.244.8.0/26; then r="$r; treat-as-withdraw (10.244.9.0/26 withdrawn, control kept)"
      else r="$r; every route of the session gone"; fi ;;
    gr)
      a=$(sed -n 's/^down: //p' "$probe"); b=$(sed -n 's/^after-eor: //p' "$probe")
      r="$r; ${a:-?}/10 routes kept while down, ${b:-?} after End-of-RIB (5 re-announced)"
      a=$(sed -n 's/^down-in: //p' "$probe"); b=$(sed -n 's/^after-eor-in: //p' "$probe")
      if [ -n "$b" ]; then r="$r; Adj-RIB-In: $a while down, $b after End-of-RIB"; fi ;;
    origin)
      a=$(sed -n 's/^in: //p' "$probe"); b=$(sed -n 's/^loc: //p' "$probe")
      if has_prefix "$a" 10.244.200.0/26; then r="$r; 10.244.200.0/26 accepted"; else r="$r; 10.244.200.0/26 not accepted"; fi
      if [ -n "$b" ]; then r="$r (Loc-RIB: ${b%" "})"; fi
      a=$(sed -n 's/^audit: //p' "$probe" | sed 's/ *$//')
      if grep -q '^audit:' "$probe"; then r="$r; bgpd audit: ${a:-no finding}"; fi ;;
  esac
  printf '%s' "$r"
}

chaos_versions() {
  printf 'bgpd %s|GoBGP %s (vMX)|BIRD %s (Calico node)|FRR %s (MetalLB speaker)' \
    "$("$BGPD" --version 2>/dev/null | awk '{print $NF}')" \
    "$(gobgpd --version 2>/dev/null | awk '{print $NF}')" \
    "$(bird --version 2>&1 | awk '{print $NF}')" \
    "$(/usr/lib/frr/bgpd --version 2>/dev/null | awk 'NR == 1 {print $NF}')"
}

# chaos_matrix : the markdown table from the outputs in $LAB_DIR/chaos
chaos_matrix() {
  local d=$LAB_DIR/chaos e host args kind t row cols
  IFS='|' read -ra cols <<<"$(chaos_versions)"
  echo "| fault | ${cols[0]} | ${cols[1]} | ${cols[2]} | ${cols[3]} |"
  echo "|---|---|---|---|---|"
  for e in "${CHAOS_FAULTS[@]}"; do
    IFS='|' read -r host args _ kind <<<"$e"
    row="| \`$args\`"
    for t in "${CHAOS_TARGETS[@]}"; do
      row="$row | $(chaos_cell "$kind" "$d/$host.$t.out" "$d/$host.$t.probe")"
    done
    echo "$row |"
  done
}

# --- bgpd's expected reactions -------------------------------------------------------------------
chaos_expect() { # HOST REGEX : bgpd's cell for the fault from .HOST matches REGEX (grep -E)
  local e host args kind cell
  for e in "${CHAOS_FAULTS[@]}"; do
    IFS='|' read -r host args _ kind <<<"$e"
    [ "$host" = "$1" ] || continue
    cell=$(chaos_cell "$kind" "$LAB_DIR/chaos/$host.bgpd.out" "$LAB_DIR/chaos/$host.bgpd.probe")
    grep -qE -- "$2" <<<"$cell" && return 0
    fail "bgpd's reaction to \`$args\`: expected \"$2\", measured \"$cell\"" \
      "$(cat "$LAB_DIR/chaos/$host.bgpd.out" "$LAB_DIR/chaos/$host.bgpd.probe" 2>/dev/null; echo '--- bgpd log ---'
         grep -v bgpd::prefix "$LAB_DIR/rs.log" | grep "$V4NET.$host" | tail -5)"
    return 1
  done
  fail "no fault from .$1"
}

scenario_12() {
  local e host args secs kind t pids d=$LAB_DIR/chaos
  mkdir -p "$d"
  cp "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/configs/intent.toml" "$LAB_DIR/intent.toml"
  for e in "${CHAOS_FAULTS[@]}"; do
    IFS='|' read -r host args secs kind <<<"$e"
    log "chaos from $V4NET.$host: $args (against bgpd, GoBGP, BIRD, FRR at once)"
    pids=()
    for t in "${CHAOS_TARGETS[@]}"; do
      : >"$d/$host.$t.out"
      # shellcheck disable=SC2086 # ARGS are words
      { chaos_run "$host" "$t" "$secs" $args; echo "exit=$?"; } >"$d/$host.$t.out" 2>&1 &
      pids+=($!)
      chaos_probe "$kind" "$d/$host.$t.out" "$host" "$t" >"$d/$host.$t.probe" 2>/dev/null &
      pids+=($!)
    done
    wait "${pids[@]}" || true
  done
  chaos_matrix >"$LAB_DIR/fault-matrix.md"
  [ -n "${FAULT_MATRIX:-}" ] && cp "$LAB_DIR/fault-matrix.md" "$FAULT_MATRIX"
  log "fault matrix (also in $LAB_DIR/fault-matrix.md):"
  cat "$LAB_DIR/fault-matrix.md" >&2

  # bgpd: what ROBUSTNESS.md and the README say it does
  chaos_expect 101 "route withdrawn at each drop"
  chaos_expect 101 "2 drops"
  chaos_expect 102 "NOTIFICATION 4/0"
  chaos_expect 103 "(closed without NOTIFICATION|reset) after"   # dropped by the send hold timer
  # (counted, not `grep -q`: with pipefail an early exit would fail the pipe on a long log)
  [ "$(grep -F "$V4NET.103" "$LAB_DIR/rs.log" | grep -v bgpd::prefix | grep -c "send hold timer expired")" -gt 0 ] ||
    fail "bgpd's log shows no send hold timer expiry for $V4NET.103" "$(grep "$V4NET.103" "$LAB_DIR/rs.log" | tail -5)"
  chaos_expect 104 "session up; treat-as-withdraw"
  chaos_expect 105 "session up; treat-as-withdraw"
  chaos_expect 106 "session up; treat-as-withdraw"
  chaos_expect 107 "NOTIFICATION 3/1"
  chaos_expect 108 "NOTIFICATION 2/"
  chaos_expect 109 "NOTIFICATION 6/1"
  chaos_expect 110 "session up; 10/10 routes kept while down, 5 after End-of-RIB"
  chaos_expect 111 "bgpd audit: .*pod-wrong-origin"
  # from-calico accepts pod-block prefixes from any origin; the class "pod" wants origin 64513
  chaos_expect 111 "session up; 10\.244\.200\.0/26 accepted \(Loc-RIB: 10\.244\.200\.0/26 (other|none)\)"
}
