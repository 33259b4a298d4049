#!/usr/bin/env bash
# Builds the Spiderpool-TS image with buildah from a Debian rootfs made by mmdebstrap (no
# registry is reachable here, so no base image is pulled): Node 24, the esbuild bundles of
# both daemons, the C CNI shim, and what the agent needs on the node (iproute2, iptables).
# One image serves the agent, the controller and the chart's hooks.
#
#   scripts/build-image.sh [--arch amd64|arm64] [--tag NAME] [--oci-archive FILE]
#
# Multi-arch: the rootfs and the image are parameterised by --arch, but Node (the npm
# package node-linux-<arch>) and the shim (gcc) are taken from this machine's build, so only
# the host's architecture builds here; arm64 needs the arm64 Node package and a
# cross-compiled shim (or qemu-user binfmt to run gcc inside the rootfs), which this machine
# does not have. The script refuses a foreign --arch rather than produce a broken image.
# Needs root, mmdebstrap, buildah. Prints the image's size.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

ARCH="$(dpkg --print-architecture)"
TAG="localhost/spiderpool-ts/spiderpool:$(node -p 'require("./package.json").version' 2>/dev/null || echo dev)"
OCI_ARCHIVE=""
SUITE="bookworm"
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) ARCH="$2"; shift 2 ;;
    --tag) TAG="$2"; shift 2 ;;
    --oci-archive) OCI_ARCHIVE="$2"; shift 2 ;;
    *) echo "build-image: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ "$ARCH" != "$(dpkg --print-architecture)" ]; then
  echo "build-image: --arch $ARCH is not this machine's ($(dpkg --print-architecture)); see the header of $0" >&2
  exit 2
fi
for tool in mmdebstrap buildah; do
  command -v "$tool" >/dev/null || { echo "build-image: $tool is missing (Debian package $tool)" >&2; exit 1; }
done

source scripts/node24.sh
ensure_node24 >&2
NODE_BIN="$(command -v node)"
[ -x native/shim/build/spiderpool ] || bash native/shim/build.sh >&2
node scripts/build-dist.ts >&2

WORK="$(mktemp -d)"
CTR=""
cleanup() {
  [ -n "$CTR" ] && buildah rm "$CTR" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# essential + what Node links against (libstdc++6; libgcc-s1 and libc6 are essential) and
# the agent's host tools. No apt in the image: nothing is installed at run time.
mmdebstrap --quiet --variant=essential --arch="$ARCH" \
  --include=libstdc++6,iproute2,iptables,ca-certificates \
  --dpkgopt='path-exclude=/usr/share/{doc,man,info,locale}/*' \
  "$SUITE" "$WORK/rootfs.tar" >&2

CTR="$(buildah from --arch "$ARCH" scratch)"
buildah add "$CTR" "$WORK/rootfs.tar" / >/dev/null
buildah copy --chmod 0755 "$CTR" "$NODE_BIN" /usr/local/bin/node >/dev/null
buildah copy "$CTR" dist/spiderpool-agent.mjs dist/spiderpool-controller.mjs dist/spiderpool-init.mjs /opt/spiderpool/ >/dev/null
buildah copy --chmod 0755 "$CTR" native/shim/build/spiderpool /usr/bin/spiderpool-shim >/dev/null
for daemon in spiderpool-agent spiderpool-controller spiderpool-init; do
  # The V8 flags of scripts/daemon.sh, measured there (docs/performance.md).
  printf '#!/bin/sh\nexec /usr/local/bin/node --max-semi-space-size=4 --initial-heap-size=24 /opt/spiderpool/%s.mjs "$@"\n' "$daemon" >"$WORK/$daemon"
  buildah copy --chmod 0755 "$CTR" "$WORK/$daemon" "/usr/bin/$daemon" >/dev/null
done
buildah config --arch "$ARCH" --os linux \
  --label org.opencontainers.image.title=spiderpool-ts \
  --label "org.opencontainers.image.version=${TAG##*:}" \
  --env NODE_ENV=production \
  --entrypoint '[]' --cmd '["/usr/bin/spiderpool-agent"]' "$CTR"
buildah commit --quiet "$CTR" "$TAG" >/dev/null
if [ -n "$OCI_ARCHIVE" ]; then
  buildah push --quiet "$TAG" "oci-archive:$OCI_ARCHIVE" >&2
fi
echo "image $TAG ($ARCH) built; size $(buildah images --format '{{.Size}}' "$TAG" | head -1)"
