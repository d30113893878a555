#!/bin/sh
# Entrypoint of the compose lab's image: runs one daemon, configured from /etc/lab (mounted
# from configs/compose/<service>/), in the foreground so `docker compose logs` shows its log
# and `docker compose stop` reaches it.
#
#   lab-entrypoint bgpd     bgpd run --config /etc/lab/bgpd.toml   (route server)
#   lab-entrypoint gobgpd   gobgpd -f /etc/lab/gobgpd.toml; then every line of
#                           /etc/lab/announce (if present) is given to `gobgp global rib`
#                           (e.g. "-a ipv4 add 0.0.0.0/0"): GoBGP's config file cannot
#                           originate routes, its CLI can (this is how the vMX and the MetalLB
#                           native speaker announce theirs)
#   lab-entrypoint bird     bird -f -c /etc/lab/bird.conf          (birdc's default socket)
#   lab-entrypoint frr      FRR's bgpd without zebra (-Z), /etc/lab/frr.conf, vty socket in
#                           /var/run/frr so plain `vtysh` reaches it
#   lab-entrypoint CMD...   anything else is run as it is (e.g. sh)
set -eu

say() { echo "lab-entrypoint: $*" >&2; }

run_gobgpd() {
  gobgpd -f /etc/lab/gobgpd.toml --pprof-disable -l info &
  pid=$!
  trap 'kill -TERM "$pid" 2>/dev/null' TERM INT
  # bounded wait for GoBGP's API (60 x 0.5 s)
  i=0
  until gobgp global >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -ge 60 ] || ! kill -0 "$pid" 2>/dev/null; then
      say "gobgpd's API did not come up within 30 s"
      kill -TERM "$pid" 2>/dev/null || true
      exit 1
    fi
    sleep 0.5
  done
  if [ -f /etc/lab/announce ]; then
    grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' /etc/lab/announce | while IFS= read -r line; do
      # shellcheck disable=SC2086 # the line is the CLI's arguments
      if gobgp global rib $line >/dev/null; then
        say "announced: gobgp global rib $line"
      else
        say "FAILED: gobgp global rib $line"
      fi
    done
  fi
  # wait returns early when a trapped signal arrives; then wait for gobgpd itself to finish
  status=0
  wait "$pid" || status=$?
  if kill -0 "$pid" 2>/dev/null; then
    status=0
    wait "$pid" || status=$?
  fi
  exit "$status"
}

case "${1:-}" in
  bgpd)
    exec bgpd run --config /etc/lab/bgpd.toml ;;
  gobgpd)
    run_gobgpd ;;
  bird)
    mkdir -p /run/bird
    exec bird -f -c /etc/lab/bird.conf -s /run/bird/bird.ctl ;;
  frr)
    mkdir -p /var/run/frr
    chown frr:frr /var/run/frr
    exec /usr/lib/frr/bgpd -f /etc/lab/frr.conf -Z -S -n -i /var/run/frr/bgpd.pid \
      --vty_socket /var/run/frr ;;
  "")
    say "usage: lab-entrypoint bgpd|gobgpd|bird|frr|CMD..."
    exit 2 ;;
  *)
    exec "$@" ;;
esac
