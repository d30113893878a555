# shellcheck shell=bash
# Scenario 5 (RFC 7947): what bgpd passes on as route server is unchanged — NEXT_HOP, MED,
# communities, large communities — it never prepends its own AS 64515, and an ADD-PATH client
# (Calico's BIRD) gets every path of a prefix while the vMX (no ADD-PATH) gets the best one.

no_own_as() { # VIEW_NAME ROUTES
  local hits
  hits=$(grep -E 'as=\[[^]]*\b64515\b' <<<"$2") || true
  [ -z "$hits" ] && return 0
  echo "$1: AS 64515 (bgpd) appears in AS_PATH:"; echo "$hits"; return 1
}

check_transparency() {
  local r v bad=0 n
  for n in node1 node2 node3; do
    r=$(bird_routes "$n")
    expect "$r" "$n" 192.0.2.0/24 "nh=$V4NET.1" "as=[64512]" "med=50" "comm=64512:100" || bad=1
    expect "$r" "$n" 2001:db8:51:100::/56 "nh=$V6NET::1" "as=[64512]" "med=50" "comm=64512:100" || bad=1
    expect "$r" "$n" 203.0.113.20/32 "nh=$V4NET.22" "as=[64514]" "med=0" "comm=64514:22" "large=64514:1:22" || bad=1
    # no hidden paths: both speakers' paths of the shared service IP
    expect "$r" "$n" "$LB_SHARED" "nh=$V4NET.21" "comm=64514:21" || bad=1
    expect "$r" "$n" "$LB_SHARED" "nh=$V4NET.22" "comm=64514:22" || bad=1
    expect_count "$r" "$n" "$LB_SHARED" 2 || bad=1
    no_own_as "$n" "$r" || bad=1
    [ $bad = 0 ] || { echo "--- $n: birdc show route all (BGP routes) ---"; echo "$r"; return 1; }
  done
  v=$(gobgp_routes vmx ipv4)
  expect "$v" vMX 203.0.113.10/32 "nh=$V4NET.21" "as=[64514]" "med=0" "comm=64514:21" "large=64514:1:21" || bad=1
  expect_count "$v" vMX "$LB_SHARED" 1 || bad=1
  no_own_as vMX "$v" || bad=1
  [ $bad = 0 ] || { echo "--- vMX: gobgp -j global rib -a ipv4 ---"; echo "$v"; return 1; }
}

scenario_5() {
  eventually 30 "route-server transparency at the nodes and the vMX" check_transparency
}
