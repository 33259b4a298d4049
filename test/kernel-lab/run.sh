#!/usr/bin/env bash
# usage: run.sh OUT_DIR [TEST_FILE...]
# Boots Debian's kernel under qemu with this machine's root shared read-only, runs
# guest.sh (the kernel-dependent tests, in one boot) and exits with the guest's exit code.
# The guest writes its test counts to OUT_DIR/level-kernel.json. Any reason the guest did
# not run or did not finish is an error with that reason: this level never skips itself.
# env: KLAB_CACHE (default build/kernel-lab in the checkout), KLAB_TIMEOUT (s, default 280),
#      KLAB_MEM (default 1G), KLAB_KARGS (extra kernel arguments).
set -uo pipefail
H=$(cd "$(dirname "$0")" && pwd)
CHECKOUT=$(cd "$H/../.." && pwd)
if [ $# -lt 1 ]; then
  echo "usage: $0 OUT_DIR [TEST_FILE...]" >&2
  exit 2
fi
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
shift
fail() {
  echo "kernel-lab: FAILED: $*"
  exit 1
}
for tool in qemu-system-x86_64 busybox modprobe depmod cpio xz zstd perl apt-get dpkg-deb; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/bin/$tool" ] ||
    fail "$tool is missing (as root, scripts/ensure-debs.sh installs the kernel lab's packages)"
done
case "$OUT$CHECKOUT" in
  *[[:space:]]*) fail "the checkout and OUT_DIR paths must not contain spaces (they go on the kernel command line)" ;;
esac
# The tests run our CNI shim and NetlinkHost's addon; scripts/test builds both first, a run
# by hand may not have.
if [ ! -x "$CHECKOUT/native/shim/build/spiderpool" ]; then
  bash "$CHECKOUT/native/shim/build.sh" >&2 || fail "could not build the CNI shim (native/shim/build.sh)"
fi
if [ ! -e "$CHECKOUT/native/host/build/spiderpool_host.node" ]; then
  bash "$CHECKOUT/native/host/build.sh" >&2 || fail "could not build the host addon (native/host/build.sh)"
fi
if ! env_line=$("$H/kernel.sh" "${KLAB_CACHE:-$CHECKOUT/build/kernel-lab}" | tail -1); then
  fail "could not prepare Debian's kernel (see above)"
fi
eval "export $env_line"
rm -f "$OUT/.vm-rc" "$OUT/level-kernel.json"
tests=$(
  IFS=,
  echo "$*"
)
start=$(date +%s)
# The guest has no network card; its console is this process's stdout.
timeout "${KLAB_TIMEOUT:-280}" qemu-system-x86_64 -nodefaults -no-user-config -display none -serial stdio \
  -machine q35 -cpu max -smp 2 -m "${KLAB_MEM:-1G}" -no-reboot \
  -kernel "$KERNEL" -initrd "$INITRD" \
  -append "console=ttyS0 panic=-1 quiet mitigations=off ${KLAB_KARGS:-} run=$H/guest.sh share=$OUT mods=$MODS checkout=$CHECKOUT tests=$tests" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs local,path="$OUT",mount_tag=share,security_model=none,multidevs=remap \
  </dev/null
qemu_rc=$?
elapsed=$(($(date +%s) - start))
if [ "$qemu_rc" -eq 124 ]; then
  fail "the guest did not power off within ${KLAB_TIMEOUT:-280} s"
elif [ "$qemu_rc" -ne 0 ]; then
  fail "qemu-system-x86_64 exited with $qemu_rc (it could not start; its message is above)"
fi
if [ ! -s "$OUT/.vm-rc" ]; then
  fail "the guest powered off without reporting an exit code after ${elapsed} s (boot failure? see its console above)"
fi
rc=$(cat "$OUT/.vm-rc")
echo "kernel-lab: guest exited with $rc after ${elapsed} s"
exit "$rc"
