# shellcheck shell=bash
# Scenario 2: pod blocks from every Calico node and LB IPs from every MetalLB speaker reach the
# vMX with next hop = the node / speaker, AS_PATH = the origin AS only (route server), their
# communities; the vMX's routes reach every node with next hop = the vMX.

check_vmx_ipv4() {
  local r bad=0 e
  r=$(gobgp_routes vmx ipv4)
  for e in "${POD_V4[@]}"; do
    set -- $e
    expect "$r" vMX "$1" "nh=$V4NET.$2" "as=[64513]" "comm=64513:100" "large=64513:1:$2" || bad=1
    expect_count "$r" vMX "$1" 1 || bad=1
  done
  for e in "${LB_V4[@]}"; do
    set -- $e
    if [ "$2" = 24 ]; then
      expect "$r" vMX "$1" "nh=$V4NET.24" "as=[64514]" "comm=64514:400" || bad=1
    else
      expect "$r" vMX "$1" "nh=$V4NET.$2" "as=[64514]" "comm=64514:$2" "large=64514:1:$2" || bad=1
    fi
    expect_count "$r" vMX "$1" 1 || bad=1
  done
  expect "$r" vMX "$LB_SHARED" "as=[64514]" || bad=1
  [ $bad = 0 ] || { echo "--- vMX: gobgp -j global rib -a ipv4 ---"; echo "$r"; return 1; }
}

check_node_gets_vmx_routes() { # NODE
  local r bad=0
  r=$(bird_routes "$1")
  expect "$r" "$1" 0.0.0.0/0 "nh=$V4NET.1" "as=[64512]" || bad=1
  expect "$r" "$1" 192.0.2.0/24 "nh=$V4NET.1" "as=[64512]" || bad=1
  expect "$r" "$1" ::/0 "nh=$V6NET::1" "as=[64512]" || bad=1
  expect "$r" "$1" 2001:db8:51:100::/56 "nh=$V6NET::1" "as=[64512]" || bad=1
  [ $bad = 0 ] || { echo "--- $1: birdc show route all (BGP routes) ---"; echo "$r"; return 1; }
}

scenario_2() {
  local n
  eventually 30 "pod blocks and LB IPs at the vMX" check_vmx_ipv4
  for n in node1 node2 node3; do
    eventually 20 "the vMX's routes at $n" check_node_gets_vmx_routes "$n"
  done
}
