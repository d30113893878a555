# shellcheck shell=bash
# Each peer's own view of its routes, reduced to one line per path so that assertions are a
# grep and a failure shows exactly what the peer said:
#   PREFIX nh=NEXT_HOP as=[AS PATH] med=N lp=N comm=A:B,.. large=A:B:C,.. orig=ID cluster=ID,..
# (a field is left out when the path does not carry the attribute).

# gobgp_routes NAME FAMILY : GoBGP's Loc-RIB (`gobgp -j global rib -a FAMILY`), one line per path
gobgp_routes() {
  gobgp_in "$1" -j global rib -a "$2" | jq -r '
    def comm: "\(. / 65536 | floor):\(. % 65536)";
    to_entries[] | .key as $p | .value[] | [.attrs[]] as $a |
    [ $p,
      ( [$a[] | select(.type == 3 or .type == 14) | .nexthop] | first | if . then "nh=\(.)" else empty end ),
      "as=[\([$a[] | select(.type == 2) | .as_paths[]?.asns[]] | map(tostring) | join(" "))]",
      ( $a[] | select(.type == 4) | "med=\(.metric)" ),
      ( $a[] | select(.type == 5) | "lp=\(.value)" ),
      ( $a[] | select(.type == 8) | "comm=\([.communities[] | comm] | join(","))" ),
      ( $a[] | select(.type == 32) | "large=\([.value[] | "\(.ASN):\(.LocalData1):\(.LocalData2)"] | join(","))" ),
      ( $a[] | select(.type == 9) | "orig=\(.value)" ),
      ( $a[] | select(.type == 10) | "cluster=\(.value | join(","))" )
    ] | join(" ")' | sort
}

# gobgp_adj_in NAME NEIGHBOR FAMILY : what NAME received from NEIGHBOR (before its own policy)
gobgp_adj_in() {
  gobgp_in "$1" -j neighbor "$2" adj-in -a "$3" | jq -r 'to_entries[] | .key as $p | .value[] | $p' | sort
}

# bird_routes NAME : BIRD's BGP routes (`birdc show route all`), one line per path (ADD-PATH
# paths of one prefix are separate lines)
bird_routes() {
  birdc_in "$1" show route all | awk '
    function flush() { if (pfx != "" && bgp) print line; line = ""; bgp = 0 }
    /^[0-9a-f:.]+\/[0-9]+ / { flush(); pfx = $1; line = pfx; bgp = ($0 ~ /\[Global_/); next }
    /^[ \t]+(unicast|blackhole|unreachable) \[/ { flush(); line = pfx; bgp = ($0 ~ /\[Global_/); next }
    /BGP\.next_hop:/   { line = line " nh=" $2 }
    /BGP\.as_path:/    { $1 = ""; sub(/^ /, ""); line = line " as=[" $0 "]" }
    /BGP\.med:/        { line = line " med=" $2 }
    /BGP\.local_pref:/ { line = line " lp=" $2 }
    /BGP\.community:/  { $1 = ""; s = $0; gsub(/[ ()]/, "", s); gsub(/,/, ":", s); gsub(/:([0-9]+):/, ":&", s);
                         line = line " comm=" pairs(s) }
    /BGP\.large_community:/ { $1 = ""; s = $0; gsub(/^ \(/, "", s); gsub(/\)$/, "", s); gsub(/\) \(/, ",", s);
                         gsub(/, /, ":", s); line = line " large=" s }
    /BGP\.originator_id:/ { line = line " orig=" $2 }
    /BGP\.cluster_list:/  { $1 = ""; s = $0; sub(/^ /, "", s); gsub(/ /, ",", s); line = line " cluster=" s }
    function pairs(s,   n, a, i, out) { n = split(s, a, ":"); out = ""
      for (i = 1; i + 1 <= n; i += 2) out = out (out == "" ? "" : ",") a[i] ":" a[i + 1]; return out }
    END { flush() }' | sort
}

# frr_route NAME FAMILY PREFIX : FRR's paths for one prefix (`show bgp FAMILY unicast PREFIX json`)
frr_route() {
  vtysh_in "$1" "show bgp $2 unicast $3 json" | jq -r --arg p "$3" '
    (.paths // [])[] |
    [ $p,
      "nh=\(.nexthops[0].ip)",
      "as=[\(.aspath.string // "" | if . == "Local" then "" else . end)]",
      ( .metric // empty | "med=\(.)" ),
      ( .locPrf // empty | "lp=\(.)" ),
      ( .community.string // empty | "comm=\(split(" ") | join(","))" ),
      ( .largeCommunity.string // empty | "large=\(split(" ") | join(","))" ),
      ( .originatorId // empty | "orig=\(.)" ),
      ( .clusterList.list // empty | "cluster=\(join(","))" )
    ] | join(" ")'
}

# --- session views -------------------------------------------------------------------------
gobgp_state() { gobgp_in "$1" -j neighbor "$2" | jq -r '.state.session_state'; }  # 6 = Established
bird_state()  { birdc_in "$1" show protocols "$2" | awk -v p="$2" '$1 == p {print $6}'; }
frr_state()   { vtysh_in "$1" "show bgp neighbors $2 json" | jq -r --arg n "$2" '.[$n].bgpState'; }

# --- assertions over those lines ------------------------------------------------------------
# path_with ROUTES PREFIX FIELD... : true when a path of PREFIX carries every FIELD (e.g. nh=...)
path_with() {
  local routes=$1 prefix=$2 line f ok; shift 2
  while IFS= read -r line; do
    [ "${line%% *}" = "$prefix" ] || continue
    ok=1
    for f in "$@"; do [[ " $line " == *" $f "* ]] || { ok=0; break; }; done
    [ $ok = 1 ] && return 0
  done <<<"$routes"
  return 1
}
# paths_of ROUTES PREFIX : how many paths the view holds for PREFIX
paths_of() { awk -v p="$2" '$1 == p' <<<"$1" | wc -l; }

# expect ROUTES WHO PREFIX FIELD... : a path as described, else say what was expected
expect() {
  local routes=$1 who=$2 prefix=$3; shift 3
  path_with "$routes" "$prefix" "$@" && return 0
  echo "expected at $who: $prefix $*"
  return 1
}
# expect_count ROUTES WHO PREFIX N : exactly N paths
expect_count() {
  local n; n=$(paths_of "$1" "$3")
  [ "$n" = "$4" ] && return 0
  echo "expected at $2: $4 path(s) for $3, found $n"
  return 1
}
