# shellcheck shell=bash
# Sourced by scripts/test: installs the Debian packages the test levels use, when they are
# missing and we are root. Without root, it says what is missing; the tests that need a
# missing tool report themselves as not run.

# probe path|package
SPIDERPOOL_DEBS=(
  "/usr/sbin/ip|iproute2"
  "/usr/bin/gcc|gcc"
  "/usr/bin/kubectl|kubernetes-client"
  "/usr/lib/cni/macvlan|containernetworking-plugins"
  # The coordinator's end-to-end test: the executor's mangle rules, and ping inside namespaces.
  "/usr/sbin/iptables-restore|iptables"
  "/bin/busybox|busybox-static"
  # Tests read the reply-path marks (nf_tables, ADR 0009) back with a decoder that is not ours.
  "/usr/sbin/nft|nftables"
  "/usr/bin/unzip|unzip"
  "/usr/bin/promtool|prometheus"
  # The kernel lab (test/kernel-lab/): Debian's kernel under qemu, and what its guest runs.
  "/usr/bin/qemu-system-x86_64|qemu-system-x86"
  "/usr/sbin/depmod|kmod"
  "/usr/bin/xz|xz-utils"
  "/usr/bin/zstd|zstd"
  "/usr/bin/cpio|cpio"
  "/usr/sbin/rdma-ndd|rdma-core"
  "/usr/bin/ibv_rc_pingpong|ibverbs-utils"
  "/etc/libibverbs.d/rxe.driver|ibverbs-providers"
  # The pool grid of spiderpoolctl top pools --html is checked in a real headless browser.
  "/usr/bin/chromium|chromium"
)
# The image level (test/e2e/image.test.ts) runs only in CI or when asked; only then its tools.
if [ "${CI:-}" = "true" ] || [ "${SPIDERPOOL_IMAGE_TEST:-}" = "1" ]; then
  SPIDERPOOL_DEBS+=("/usr/bin/mmdebstrap|mmdebstrap" "/usr/bin/buildah|buildah" "/usr/bin/podman|podman" "/usr/sbin/runc|runc")
fi

ensure_debs() {
  local missing=() entry probe pkg
  for entry in "${SPIDERPOOL_DEBS[@]}"; do
    probe="${entry%%|*}"
    pkg="${entry##*|}"
    if [ ! -e "$probe" ] && ! command -v "$(basename "$probe")" >/dev/null 2>&1; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "debs: missing ${missing[*]} and not root; tests that need them will report as not run" >&2
    return 0
  fi
  echo "debs: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get update -qq >/dev/null; then
    echo "debs: apt-get update failed" >&2
    return 1
  fi
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    echo "debs: apt-get install ${missing[*]} failed" >&2
    return 1
  fi
}
