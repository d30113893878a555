#!/usr/bin/env bash
# Installs what the tests need, from Debian packages, when it is missing.
# Idempotent: a tool already on PATH is not reinstalled. Needs root (or sudo) for apt-get.
set -euo pipefail

# tool on PATH -> Debian package that provides it
declare -A need=(
  [bgpdump]=bgpdump        # reference MRT reader (bgpd mrt must print the same bytes)
  [tshark]=tshark          # reference dissector (codec output must dissect cleanly)
  [gobgpd]=gobgpd          # real peer: GoBGP
  [bird]=bird2             # real peer: BIRD 2 (Calico's engine)
    [vtysh]=frr              # real peer: FRR (MetalLB's FRR mode)
  [promtool]=prometheus    # checks the /metrics output
  [ip]=iproute2            # namespace lab: network namespaces, veth pairs, bridge
  [jq]=jq                  # namespace lab: reads the peers' JSON views
)

missing=()
for tool in "${!need[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${need[$tool]}")
done
if ! command -v cargo-nextest >/dev/null 2>&1 && ! cargo nextest --version >/dev/null 2>&1; then
  echo "install-deps: cargo-nextest missing; tests will run with cargo test" >&2
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections || true
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for tool in "${!need[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "install-deps: $tool still missing after install" >&2; exit 1; }
done
echo "install-deps: all test tools present (${!need[*]})" >&2
