#!/usr/bin/env bash
# Makes the base image the compose lab's Dockerfile starts FROM (debian:bookworm-slim) when
# the Docker engine does not have it, without any registry: debootstrap a minimal Debian 12
# from the Debian package mirror, then `docker import` it under the same name. On a machine
# that can pull from Docker Hub this script is not needed (`docker compose build` pulls the
# public image); it never pulls, so it also works on an engine without a registry.
#
#   usage (root):  bash tests/compose/base-image.sh [--force]
#   BASE_IMAGE     image name to create (default debian:bookworm-slim, the Dockerfile's FROM)
#   DEBIAN_MIRROR  mirror to debootstrap from (default: the first deb.debian.org-style URI of
#                  this machine's apt sources, else http://deb.debian.org/debian)
#   --force        rebuild even when the image exists
#
# Bounded: debootstrap is stopped after 300 s. Exit 0 when the image exists afterwards.
set -euo pipefail

IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
SUITE=bookworm
FORCE=0
for a in "$@"; do
  case $a in
    --force) FORCE=1 ;;
    *) echo "usage: $0 [--force]" >&2; exit 2 ;;
  esac
done

log() { printf '%s base-image: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

command -v docker >/dev/null || { log "docker missing: install the Docker engine (docker.io)"; exit 1; }
docker info >/dev/null 2>&1 || { log "the Docker engine does not answer (docker info failed)"; exit 1; }

if [ $FORCE = 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE present ($(docker image inspect -f '{{.Id}} created {{.Created}}' "$IMAGE"))"
  exit 0
fi

[ "$(id -u)" = 0 ] || { log "needs root (debootstrap)"; exit 1; }
if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

# The mirror this machine already uses (deb822 "URIs:" or one-line "deb URI"), for Debian main.
mirror_of_host() {
  grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list |
    grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n 1 | tr -d ' '
}
MIRROR=${DEBIAN_MIRROR:-$(mirror_of_host || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/bgpd-base.XXXXXX")
cleanup() { rm -rf --one-file-system "$ROOT"; }
trap cleanup EXIT

log "debootstrap --variant=minbase $SUITE from $MIRROR (about 1-2 minutes)"
t0=$(date +%s)
if ! timeout 300 debootstrap --variant=minbase --components=main "$SUITE" "$ROOT" "$MIRROR" \
  >"$ROOT.log" 2>&1; then
  log "debootstrap failed; its last lines:"
  tail -n 20 "$ROOT.log" >&2
  rm -f "$ROOT.log"
  exit 1
fi
rm -f "$ROOT.log"

# Shape it like the official slim image: apt sources for the mirror, no caches, no docs.
cat >"$ROOT/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
SRC
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/docker-slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
SLIM
# no daemon starts during `apt-get install` inside a build (what the official images rely on)
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* "$ROOT"/usr/share/doc/*/changelog* \
  "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/tmp/* "$ROOT"/var/log/*.log
: >"$ROOT/etc/hostname"

log "docker import as $IMAGE"
tar --numeric-owner -C "$ROOT" -c . |
  docker import --change 'CMD ["bash"]' --message "debootstrap $SUITE minbase from $MIRROR (tests/compose/base-image.sh)" - "$IMAGE" >/dev/null
log "$IMAGE created in $(( $(date +%s) - t0 ))s: $(docker image inspect -f '{{.Id}} {{.Size}} bytes' "$IMAGE")"
