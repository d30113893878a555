# shellcheck shell=bash
# Scenario 11: `bgpd audit` on the lab's real routes — announced by BIRD (Calico), FRR (MetalLB)
# and GoBGP, read through bgpd's API — with each fault caused for real by those daemons:
#  a) node-1's BIRD announces a /24 inside the pod pool           -> pod-wrong-length
#  b) speaker-2's FRR announces 203.0.114.20/32, outside every pool -> lb-outside-pool
#  c) node-3's BIRD announces node-1's block 10.244.1.0/26         -> pod-duplicate-block
#  d) speaker-1's FRR withdraws service IP 203.0.113.10/32         -> lb-missing
# Each is reported (as new against the audit of the healthy lab) and clears once undone.
# The audit reads the Adj-RIBs-In (--adj-rib-in): bgpd's import policy rejects the bad routes,
# and the audit must still see what the peers announced.

audit_intent() {
  cp "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/configs/intent.toml" "$LAB_DIR/intent.toml"
}

# audit_new : the findings that are new against the baseline, as "check subject" lines
audit_new() {
  inside rs "$BGPD" audit --api http://127.0.0.1:8179 --adj-rib-in --intent "$LAB_DIR/intent.toml" \
    --baseline "$LAB_DIR/audit-baseline.json" --json 2>/dev/null |
    jq -r '.findings[] | "\(.check) \(.subject)"' | sort
}

# new_finding CHECK SUBJECT : the audit reports exactly this finding as new
new_finding() {
  local got; got=$(audit_new)
  grep -qx "$1 $2" <<<"$got" || { echo "expected new finding '$1 $2'; new findings:"; echo "$got"; return 1; }
}

# audit_clean : nothing new against the baseline
audit_clean() {
  local got; got=$(audit_new)
  [ -z "$got" ] || { echo "new findings left:"; echo "$got"; return 1; }
}

scenario_11() {
  audit_intent
  inside rs "$BGPD" audit --api http://127.0.0.1:8179 --adj-rib-in --intent "$LAB_DIR/intent.toml" \
    --json >"$LAB_DIR/audit-baseline.json" 2>/dev/null || true
  jq -e '.findings' "$LAB_DIR/audit-baseline.json" >/dev/null || { echo "no baseline audit"; return 1; }
  audit_clean

  # a) a /24 inside the pod pool from node-1
  calico_config node1 11 64515 "$(node_blocks_v4 11) 10.244.9.0/24" "$(node_blocks_v6 11)"
  birdc_in node1 configure >/dev/null
  eventually 20 "pod-wrong-length for 10.244.9.0/24" new_finding pod-wrong-length 10.244.9.0/24
  calico_config node1 11 64515 "$(node_blocks_v4 11)" "$(node_blocks_v6 11)"
  birdc_in node1 configure >/dev/null
  eventually 20 "audit clean after node-1 released the /24" audit_clean

  # b) an IP outside every LoadBalancer pool from speaker-2
  # (like MetalLB's generated config, the export prefix-list names every IP it may announce)
  frr_conf spk2 "ip prefix-list $RS-pl-ipv4 seq 99 permit 203.0.114.20/32" \
    "router bgp 64514" "address-family ipv4 unicast" "network 203.0.114.20/32"
  eventually 20 "lb-outside-pool for 203.0.114.20/32" new_finding lb-outside-pool 203.0.114.20/32
  frr_conf spk2 "router bgp 64514" "address-family ipv4 unicast" "no network 203.0.114.20/32" \
    "exit-address-family" "exit" "no ip prefix-list $RS-pl-ipv4 seq 99 permit 203.0.114.20/32"
  eventually 20 "audit clean after speaker-2 withdrew it" audit_clean

  # c) node-3 announces node-1's block
  calico_config node3 13 64515 "$(node_blocks_v4 13) 10.244.1.0/26" "$(node_blocks_v6 13)" "$MD5_KEY_NODE3"
  birdc_in node3 configure >/dev/null
  eventually 20 "pod-duplicate-block for 10.244.1.0/26" new_finding pod-duplicate-block 10.244.1.0/26
  calico_config node3 13 64515 "$(node_blocks_v4 13)" "$(node_blocks_v6 13)" "$MD5_KEY_NODE3"
  birdc_in node3 configure >/dev/null
  eventually 20 "audit clean after node-3 released it" audit_clean

  # d) the service IP 203.0.113.10 withdrawn by its only speaker
  frr_conf spk1 "router bgp 64514" "address-family ipv4 unicast" "no network 203.0.113.10/32"
  eventually 20 "lb-missing for 203.0.113.10" new_finding lb-missing 203.0.113.10
  frr_conf spk1 "router bgp 64514" "address-family ipv4 unicast" "network 203.0.113.10/32"
  eventually 20 "audit clean after speaker-1 announced it again" audit_clean
}
