#!/usr/bin/env bash
# Build the gateway's image where no container registry can be reached (only Debian's
# package mirror and PyPI): debootstrap a Debian bookworm base with python3 and venv,
# import it as localhost/boltgate-base:bookworm, and build the Dockerfile on it.
#
#   deploy/container/build-offline.sh [TAG]        (as root; needs podman and debootstrap)
#
# The flags below are for sandboxes like CI's: no CAP_SYS_RESOURCE (so the OCI runtime
# may not raise rlimits: podman's defaults are lowered to fit) and cgroups v1 in hybrid
# mode (crun refuses it; runc copes). On an ordinary host plain `docker build .` (or `podman build --format docker .`) works.
set -euo pipefail
cd "$(dirname "$0")/../.."
TAG="${1:-boltgate:0.1.0}"
BASE=localhost/boltgate-base:bookworm
ROOTFS="${BOLTGATE_ROOTFS:-/var/tmp/boltgate-rootfs-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
RUNTIME_FLAGS=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

for tool in podman debootstrap runc; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install $tool)" >&2; exit 2; }
done
if ! podman image exists "$BASE"; then
  if [ ! -x "$ROOTFS/usr/bin/python3" ]; then
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
      bookworm "$ROOTFS" "$MIRROR"
    rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
  fi
  tar -C "$ROOTFS" -c . | podman import --change 'CMD ["python3"]' - "$BASE"
fi
# Where TLS to PyPI goes through a re-signing proxy (as on CI's machines), pip in the
# build needs the host's CA bundle and pip settings: mounted for the RUN steps only,
# never copied into the image.
TRUST=()
[ -f /etc/ssl/certs/ca-certificates.crt ] \
  && TRUST+=(--volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
[ -f /etc/pip.conf ] && TRUST+=(--volume /etc/pip.conf:/etc/pip.conf:ro)
# --format docker: the OCI format has no HEALTHCHECK, and podman would drop it.
podman build --format docker "${RUNTIME_FLAGS[@]}" "${TRUST[@]}" --network host \
  --build-arg PYTHON_IMAGE="$BASE" \
  --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  -t "$TAG" .
echo "built $TAG; try: podman run ${RUNTIME_FLAGS[*]} --rm --network host $TAG --help"
