# shellcheck shell=bash
# The soak lab's peers, churn and checks (sourced by tests/soak/run.sh after tests/lab/lib.sh).
#
#   rs    .2        bgpd, route server AS 64515 (every neighbor a route-server client, accept all)
#   vmx   .1        gobgpd AS 64512  well-behaved: 192.0.2.0/24, 2001:db8:51:100::/56
#   node1 .11       bird   AS 64513  well-behaved: Calico-shaped, one session per family
#   spk1  .21       FRR    AS 64514  well-behaved: MetalLB-shaped, IPv4 and IPv6 over one session
#   cK    .(100+K)  gobgpd AS 65000+K, K = 1..17: churners. Pool per churner: its own
#                   10.(100+K).J.0/24 (J = 0..15) and four /24s in 198.18.0.0/22 shared by all
#                   (several paths per prefix). Graceful restart, restart time 30 s. bgpd
#                   takes them as passive neighbors (so a flapping one is let in during bgpd's
#                   back-off) with connect retry 5 s on both sides.
# Every peer rejects what bgpd sends it (GoBGP's global import policy, FRR's MetalLB route-map,
# BIRD's import into its table is harmless), so each peer's own table is what it announces.

RS=$V4NET.2
RS6=$V6NET::2
API=http://127.0.0.1:8179
CHURNERS=($(seq 1 17))
SETTLE_SECS=45
CHURN_SECS=$((DURATION - 30))
WARMUP_SECS=$((CHURN_SECS / 4 > 30 ? CHURN_SECS / 4 : 30))
WELL_BEHAVED=("$V4NET.1" "$V4NET.11" "$V6NET::11" "$V4NET.21")

api() { inside rs curl -sf --max-time 10 "$API$1"; }

soak_bgpd_config() {
  local k
  {
    cat <<C
[global]
asn = 64515
router_id = "$RS"
listen = ["0.0.0.0:179", "[::]:179"]
log_level = "info"
prefix_summary_interval = 60

[[policies]]
name = "all"
[[policies.statements]]
name = "everything"
action = "accept"

[[peer_groups]]
name = "clients"
role = "route-server-client"
peer_as = 64512
connect_retry = 5
import_policy = ["all"]
export_policy = ["all"]

[[neighbors]]
address = "$V4NET.1"
peer_group = "clients"
description = "vMX (GoBGP), well-behaved"

[[neighbors]]
address = "$V4NET.11"
peer_group = "clients"
peer_as = 64513
description = "Calico node-1 (BIRD) IPv4, well-behaved"

[[neighbors]]
address = "$V6NET::11"
peer_group = "clients"
peer_as = 64513
description = "Calico node-1 (BIRD) IPv6, well-behaved"

[[neighbors]]
address = "$V4NET.21"
peer_group = "clients"
peer_as = 64514
description = "MetalLB speaker-1 (FRR), well-behaved"
C
    for k in "${CHURNERS[@]}"; do
      cat <<C

[[neighbors]]
address = "$V4NET.$((100 + k))"
peer_group = "clients"
peer_as = $((65000 + k))
passive = true
description = "churner $k (GoBGP)"
C
    done
  } >"$LAB_DIR/rs.toml"
}

# gobgp_config NAME HOST AS FAMILY... : one session to bgpd, nothing imported, graceful restart
gobgp_config() {
  local name=$1 host=$2 asn=$3 f; shift 3
  {
    cat <<C
[global.config]
  as = $asn
  router-id = "$V4NET.$host"
  local-address-list = ["$V4NET.$host"]
# Nothing bgpd sends is kept (the routes it adds itself still are).
[[defined-sets.neighbor-sets]]
  neighbor-set-name = "rs"
  neighbor-info-list = ["$RS"]
[[policy-definitions]]
  name = "drop-from-rs"
  [[policy-definitions.statements]]
    name = "drop"
    [policy-definitions.statements.conditions.match-neighbor-set]
      neighbor-set = "rs"
    [policy-definitions.statements.actions]
      route-disposition = "reject-route"
[global.apply-policy.config]
  import-policy-list = ["drop-from-rs"]
  default-import-policy = "accept-route"

[[neighbors]]
  [neighbors.config]
    neighbor-address = "$RS"
    peer-as = 64515
  [neighbors.timers.config]
    hold-time = 90
    connect-retry = 5
  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 30
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
  } >"$LAB_DIR/$name.toml"
}

gobgp_api_up() { gobgp_in "$1" global >/dev/null 2>&1; }

# within SECONDS DESCRIPTION FUNCTION ARGS... : like lib.sh's `eventually`, but bounded by the
# clock (FUNCTION may itself take seconds here): FUNCTION until it succeeds or time is up
within() {
  local secs=$1 what=$2 end out; shift 2
  end=$(($(date +%s) + secs))
  while :; do
    if out=$("$@" 2>&1); then return 0; fi
    [ "$(date +%s)" -lt "$end" ] || break
    sleep 1
  done
  fail "timed out after ${secs}s waiting for: $what" "$out"
}

wait_api_up() { # NAME : GoBGP's API answers (at most 15 s)
  local i
  for i in $(seq 1 30); do gobgp_api_up "$1" && return 0; sleep 0.5; done
  return 1
}

all_established() {
  local n
  n=$(api /api/v1/neighbors | jq '[.[] | select(.state == "Established")] | length')
  echo "Established at bgpd: ${n:-?} of $((${#CHURNERS[@]} + 4)) sessions"
  [ "${n:-0}" = $((${#CHURNERS[@]} + 4)) ]
}

build_soak_lab() {
  local k
  source "$LAB/configs.sh"
  lab_init soak
  add_router rs 2
  add_router vmx 1
  add_router node1 11
  add_router spk1 21
  for k in "${CHURNERS[@]}"; do add_router "c$k" $((100 + k)); done

  soak_bgpd_config
  start_bgpd rs "$LAB_DIR/rs.toml"
  gobgp_config vmx 1 64512 ipv4-unicast ipv6-unicast
  start_gobgpd vmx
  calico_config node1 11 64515 "10.244.1.0/26 10.244.1.64/26" "fd00:10:244:1::/122"
  start_bird node1
  metallb_frr_config spk1 21 64514 64515 90 "203.0.113.10/32 203.0.113.50/32" "2001:db8:113::10/128"
  start_frr spk1
  for k in "${CHURNERS[@]}"; do
    gobgp_config "c$k" $((100 + k)) $((65000 + k)) ipv4-unicast
    (start_gobgpd "c$k")
  done
  wait_api_up vmx || { fail "vmx's GoBGP API never answered"; exit 1; }
  gobgp_in vmx global rib -a ipv4 add 192.0.2.0/24 med 50 community 64512:100 >/dev/null
  gobgp_in vmx global rib -a ipv6 add 2001:db8:51:100::/56 nexthop "$V6NET::1" med 50 >/dev/null
  for k in "${CHURNERS[@]}"; do
    wait_api_up "c$k" || { fail "c$k's GoBGP API never answered"; exit 1; }
  done
  within 90 "every session Established at bgpd" all_established || exit 1
}

# --- the well-behaved peers' own session views -------------------------------------------------
# One line per fact that must not change while the churn runs.
well_behaved_baseline() {
  gobgp_in vmx -j neighbor "$RS" |
    jq -r '"vmx state=\(.state.session_state) flops=\(.state.flops // 0) uptime=\(.timers.state.uptime.seconds // .timers.state.uptime // "?")"'
  birdc_in node1 show protocols | awk '$2 == "BGP" {print "node1", $1, "state=" $6, "since=" $5}'
  vtysh_in spk1 "show bgp neighbors $RS json" |
    jq -r --arg n "$RS" '.[$n] | "spk1 state=\(.bgpState) established=\(.connectionsEstablished) dropped=\(.connectionsDropped)"'
  # bgpd's own count: compared with its value when the churn began (a connection collision
  # while the lab comes up may already have counted one)
  local m a
  m=$(api /metrics)
  for a in "${WELL_BEHAVED[@]}"; do
    printf 'bgpd peer=%s flaps=%s up=%s\n' "$a" \
      "$(grep -E "^bgpd_peer_flaps_total\{[^}]*peer=\"$a\"" <<<"$m" | awk '{n = $NF} END {print n + 0}')" \
      "$(grep -E "^bgpd_peer_up\{[^}]*peer=\"$a\"" <<<"$m" | awk '{print $NF}')"
  done
}

well_behaved_unchanged() { # BASELINE_FILE
  local now ok=0
  now=$(well_behaved_baseline)
  if [ "$now" != "$(cat "$1")" ]; then
    fail "a well-behaved peer's session changed" "$(printf 'before:\n%s\nafter:\n%s' "$(cat "$1")" "$now")"
    ok=1
  fi
  grep -q "^vmx state=6 " <<<"$now" && [ "$(grep -c "state=Established" <<<"$now")" = 3 ] ||
    { fail "a well-behaved peer is not Established (once) in its own view" "$now"; ok=1; }
  [ "$(grep -c "^bgpd peer=.* up=1$" <<<"$now")" = ${#WELL_BEHAVED[@]} ] ||
    { fail "bgpd_peer_up is not 1 for every well-behaved peer" "$now"; ok=1; }
  echo "well-behaved: $(tr '\n' ';' <<<"$now")" >&2
  return $ok
}

# --- churn -------------------------------------------------------------------------------------
# Routes the churner should announce: "K J" -> MED. Flapped (disabled) and killed churners come
# back after a delay kept in DOWN_UNTIL / DEAD_UNTIL (epoch seconds).
declare -A ROUTES=()
declare -A DOWN_UNTIL=() DEAD_UNTIL=()

pool_prefix() { # K J
  if [ "$2" -lt 16 ]; then echo "10.$((100 + $1)).$2.0/24"; else echo "198.18.$(($2 - 16)).0/24"; fi
}

readd_routes() { # K : a restarted GoBGP forgets its routes; announce them again
  local key
  for key in "${!ROUTES[@]}"; do
    [ "${key% *}" = "$1" ] || continue
    gobgp_in "c$1" global rib -a ipv4 add "$(pool_prefix "$1" "${key#* }")" med "${ROUTES[$key]}" >/dev/null 2>&1
  done
}

revive_due() { # NOW [all] : re-enable flapped sessions and restart killed daemons whose time came
  local k
  for k in "${!DOWN_UNTIL[@]}"; do
    if [ "${2:-}" = all ] || [ "${DOWN_UNTIL[$k]}" -le "$1" ]; then
      gobgp_in "c$k" neighbor "$RS" enable >/dev/null 2>&1
      unset "DOWN_UNTIL[$k]"
    fi
  done
  for k in "${!DEAD_UNTIL[@]}"; do
    if [ "${2:-}" = all ] || [ "${DEAD_UNTIL[$k]}" -le "$1" ]; then
      (start_gobgpd "c$k")
      unset "DEAD_UNTIL[$k]"
      wait_api_up "c$k" && readd_routes "$k"
    fi
  done
}

# churn SECONDS SEED : one action every 0.2-0.5 s until SECONDS pass (at most 10 per second)
churn() {
  local secs=$1 end now k j r n=0 ann=0 wd=0 flaps=0 kills=0 max mine
  RANDOM=$2
  end=$(($(date +%s) + secs))
  max=$((secs * 10))
  while [ $n -lt $max ]; do
    now=$(date +%s)
    [ "$now" -lt "$end" ] || break
    n=$((n + 1))
    revive_due "$now"
    k=${CHURNERS[$((RANDOM % ${#CHURNERS[@]}))]}
    j=$((RANDOM % 20))
    r=$((RANDOM % 100))
    if [ -n "${DEAD_UNTIL[$k]:-}" ]; then sleep 0.2; continue; fi
    if [ $r -lt 55 ]; then
      ROUTES["$k $j"]=$((RANDOM % 4 * 10))
      gobgp_in "c$k" global rib -a ipv4 add "$(pool_prefix "$k" "$j")" med "${ROUTES["$k $j"]}" >/dev/null 2>&1
      ann=$((ann + 1))
    elif [ $r -lt 85 ]; then
      # withdraw one of the churner's announced routes (in a reproducible order)
      mine=($(printf '%s\n' "${!ROUTES[@]}" | awk -v k="$k" '$1 == k {print $2}' | sort -n))
      if [ ${#mine[@]} -gt 0 ]; then
        j=${mine[$((RANDOM % ${#mine[@]}))]}
        gobgp_in "c$k" global rib -a ipv4 del "$(pool_prefix "$k" "$j")" >/dev/null 2>&1
        unset "ROUTES[$k $j]"
        wd=$((wd + 1))
      fi
    elif [ $r -lt 95 ]; then
      if [ -z "${DOWN_UNTIL[$k]:-}" ]; then
        gobgp_in "c$k" neighbor "$RS" disable >/dev/null 2>&1
        DOWN_UNTIL[$k]=$((now + 1 + RANDOM % 5))
        flaps=$((flaps + 1))
      fi
    else
      stop_router "c$k" KILL
      DEAD_UNTIL[$k]=$((now + 1 + RANDOM % 5))
      unset "DOWN_UNTIL[$k]"
      kills=$((kills + 1))
    fi
    sleep "0.$((2 + RANDOM % 4))"
  done
  echo "actions=$n announce=$ann withdraw=$wd flap=$flaps kill-9=$kills" >"$LAB_DIR/churn.counts"
}

settle_churners() {
  revive_due 0 all
  within 60 "every session Established again at bgpd" all_established || FAILED=1
}

# --- the final Loc-RIB against the peers' own state ---------------------------------------------
# "PREFIX PEER" per route each peer announces, from the peer itself.
peers_announce() {
  local k
  for k in "${CHURNERS[@]}"; do
    gobgp_in "c$k" -j global rib -a ipv4 | jq -r --arg p "$V4NET.$((100 + k))" 'keys[] | "\(.) \($p)"'
  done
  gobgp_in vmx -j global rib -a ipv4 | jq -r --arg p "$V4NET.1" 'keys[] | "\(.) \($p)"'
  gobgp_in vmx -j global rib -a ipv6 | jq -r --arg p "$V4NET.1" 'keys[] | "\(.) \($p)"'
  birdc_in node1 show route protocol static4 | awk -v p="$V4NET.11" '$1 ~ /\// {print $1, p}'
  birdc_in node1 show route protocol static6 | awk -v p="$V6NET::11" '$1 ~ /\// {print $1, p}'
  vtysh_in spk1 "show bgp ipv4 unicast json" | jq -r --arg p "$V4NET.21" '.routes | keys[] | "\(.) \($p)"'
  vtysh_in spk1 "show bgp ipv6 unicast json" | jq -r --arg p "$V4NET.21" '.routes | keys[] | "\(.) \($p)"'
}

rib_matches_peers() {
  local want have stale
  want=$(peers_announce | sort -u)
  have=$(api "/api/v1/rib" | jq -r '.[] | "\(.prefix) \(.peer)"' | sort)
  stale=$(api "/api/v1/rib" | jq -r '.[] | select(.stale) | "\(.prefix) \(.peer)"')
  echo "peers announce $(wc -l <<<"$want") routes, bgpd's Loc-RIB holds $(wc -l <<<"$have") paths"
  [ -n "$stale" ] && { echo "stale paths: $stale"; return 1; }
  if [ "$want" != "$have" ]; then
    diff <(echo "$want") <(echo "$have") | grep '^[<>]' | head -40
    return 1
  fi
  # Each churner's own table must also be what this script told it (a sanity check of the test).
  local k key expected
  expected=$(for key in "${!ROUTES[@]}"; do echo "$(pool_prefix "${key% *}" "${key#* }") $V4NET.$((100 + ${key% *}))"; done)
  expected=$(printf '%s\n%s\n' "$expected" "$(grep -v "^.* $V4NET\.1[0-9][0-9]$" <<<"$want")" | grep -v '^$' | sort -u)
  [ "$expected" = "$want" ] || { echo "a churner's table differs from the script's record:"; diff <(echo "$expected") <(echo "$want") | head -20; return 1; }
  echo "$(wc -l <<<"$want") routes" >"$LAB_DIR/rib.final"
}

# --- RSS -----------------------------------------------------------------------------------------
# rss_flat FILE WARMUP : "T KB" lines; after WARMUP seconds the last quarter's median must stay
# within 10 % + 4 MiB of the first quarter's median
rss_flat() {
  local series n q first last min med max
  series=$(awk -v w="$2" '$1 >= w {print $2}' "$1")
  n=$(grep -c . <<<"$series")
  [ "$n" -ge 8 ] || { fail "only $n RSS samples after warm-up" "$(cat "$1")"; return 1; }
  q=$((n / 4))
  median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
  first=$(head -n "$q" <<<"$series" | median)
  last=$(tail -n "$q" <<<"$series" | median)
  min=$(sort -n <<<"$series" | head -1)
  max=$(sort -n <<<"$series" | tail -1)
  med=$(median <<<"$series")
  echo "RSS after ${2}s warm-up: $n samples, min $min KiB, median $med KiB, max $max KiB; first-quarter median $first KiB, last-quarter median $last KiB; whole run: $(awk '{print $2}' "$1" | sort -n | head -1)-$(awk '{print $2}' "$1" | sort -n | tail -1) KiB" |
    tee "$LAB_DIR/rss.summary" >&2
  [ "$last" -le $((first * 110 / 100 + 4096)) ] ||
    { fail "RSS grew: last-quarter median $last KiB > first-quarter median $first KiB + 10 % + 4 MiB" "$(cat "$1")"; return 1; }
}
