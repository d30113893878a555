# shellcheck shell=bash
# Scenario 6: IPv6 over MP-BGP. Calico nodes send their /122 blocks on IPv6 transport (like
# Calico's bird6); the FRR speakers send their /128 on their IPv4 session (MetalLB's
# dualStackAddressFamily). The vMX gets all of them on its IPv6 session with the originators'
# IPv6 next hops, and the nodes get the vMX's and the speakers' IPv6 routes.

check_vmx_ipv6() {
  local r bad=0 e
  r=$(gobgp_routes vmx ipv6)
  for e in "${POD_V6[@]}"; do
    set -- $e
    expect "$r" vMX "$1" "nh=$V6NET::$2" "as=[64513]" "comm=64513:100" || bad=1
    expect_count "$r" vMX "$1" 1 || bad=1
  done
  for e in "${LB_V6[@]}"; do
    set -- $e
    expect "$r" vMX "$1" "nh=$V6NET::$2" "as=[64514]" "comm=64514:$2" || bad=1
  done
  [ $bad = 0 ] || { echo "--- vMX: gobgp -j global rib -a ipv6 ---"; echo "$r"; return 1; }
}

# the IPv6 family is up on the speakers' IPv4 session and their /128 went out on it
check_frr_ipv6_on_ipv4() { # SPEAKER
  local out
  out=$(vtysh_in "$1" "show bgp ipv6 unicast summary json")
  jq -e --arg n "$RS" '.peers[$n].state == "Established" and .peers[$n].pfxSnt >= 1' <<<"$out" >/dev/null && return 0
  echo "$1: IPv6 unicast not Established on IPv4 session $RS, or nothing sent"
  echo "--- $1: show bgp ipv6 unicast summary json ---"; echo "$out"; return 1
}

check_node_ipv6() { # NODE
  local node=$1 r bad=0 e
  r=$(bird_routes "$node")
  expect "$r" "$node" ::/0 "nh=$V6NET::1" "as=[64512]" || bad=1
  for e in "${LB_V6[@]}"; do
    expect "$r" "$node" "${e% *}" "nh=$V6NET::${e#* }" "as=[64514]" || bad=1
  done
  [ $bad = 0 ] || { echo "--- $node: birdc show route all (BGP routes) ---"; echo "$r"; return 1; }
}

scenario_6() {
  local s n
  eventually 30 "IPv6 pod blocks and LB IPs at the vMX (IPv6 transport)" check_vmx_ipv6
  for s in spk1 spk2 spk3; do eventually 10 "$s: IPv6 on its IPv4 session" check_frr_ipv6_on_ipv4 "$s"; done
  for n in node1 node2 node3; do eventually 20 "IPv6 routes at $n" check_node_ipv6 "$n"; done
}
