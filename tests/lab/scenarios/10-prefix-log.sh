# shellcheck shell=bash
# Scenario 10: bgpd's prefix log (--log-format json, target bgpd::prefix) has exactly one
# "announce" line per pod block and per LB IP, with class "pod" / "loadbalancer", the peer it
# came from and that peer's AS. (Run right after the lab comes up: later scenarios add lines.)

check_prefix_log() {
  local bad=0 e lines n
  local log=$LAB_DIR/rs.log
  check_one() { # PREFIX PEER PEER_AS CLASS
    lines=$(jq -c --arg p "$1" 'select(.target == "bgpd::prefix" and .prefix == $p and .action == "announce")
      | {peer, peer_as, family, prefix, class, action, next_hop}' "$log" 2>/dev/null)
    n=$(grep -c . <<<"$lines")
    if [ "$n" != 1 ] || ! jq -e --arg peer "$2" --argjson asn "$3" --arg class "$4" \
        '.peer == $peer and .peer_as == $asn and .class == $class' <<<"$lines" >/dev/null; then
      echo "expected one announce line for $1 from $2 (AS $3) with class \"$4\", found $n:"
      [ -n "$lines" ] && echo "$lines"
      bad=1
    fi
  }
  for e in "${POD_V4[@]}"; do set -- $e; check_one "$1" "$V4NET.$2" 64513 pod; done
  for e in "${POD_V6[@]}"; do set -- $e; check_one "$1" "$V6NET::$2" 64513 pod; done
  for e in "${LB_V4[@]}"; do set -- $e; check_one "$1" "$V4NET.$2" 64514 loadbalancer; done
  for e in "${LB_V6[@]}"; do set -- $e; check_one "$1" "$V4NET.$2" 64514 loadbalancer; done
  [ $bad = 0 ]
}

scenario_10() {
  eventually 20 "one prefix-log line per pod block and LB IP" check_prefix_log
}
