#!/bin/sh
# usage: kernel.sh CACHE_DIR [META_PACKAGE]
# Makes Debian's kernel bootable under qemu without installing it: downloads the package
# that linux-image-amd64 depends on, unpacks it, runs depmod on the unpacked tree, extracts
# an uncompressed vmlinux and builds the initramfs. Everything lands in CACHE_DIR/<package>,
# so a second run only rebuilds the initramfs when init or mkinitramfs.sh changed.
# Prints one line: KERNEL=… INITRD=… MODS=…
set -eu
H=$(cd "$(dirname "$0")" && pwd)
META=${2:-linux-image-amd64}
P=$(apt-cache depends "$META" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$P" ]; then
  echo "kernel-lab: apt-cache knows no kernel package behind $META (run apt-get update?)" >&2
  exit 1
fi
mkdir -p "$1"
D=$(cd "$1" && pwd)/$P
if [ ! -e "$D/.unpacked" ]; then
  rm -rf "$D"
  mkdir -p "$D"
  echo "kernel-lab: downloading $P" >&2
  (cd "$D" && apt-get download -q "$P" >&2 && dpkg-deb -x "$P"_*.deb root && rm "$P"_*.deb)
  V=$(ls "$D/root/lib/modules")
  depmod -b "$D/root" "$V"
  "$H/extract-vmlinux.sh" "$D/root/boot/vmlinuz-$V" "$D/vmlinux"
  touch "$D/.unpacked"
fi
V=$(ls "$D/root/lib/modules")
if [ ! -e "$D/initrd.gz" ] || [ "$H/init" -nt "$D/initrd.gz" ] || [ "$H/mkinitramfs.sh" -nt "$D/initrd.gz" ]; then
  "$H/mkinitramfs.sh" "$D/root" "$V" "$D/initrd.gz.new"
  mv "$D/initrd.gz.new" "$D/initrd.gz"
fi
echo "KERNEL=$D/vmlinux INITRD=$D/initrd.gz MODS=$D/root/lib/modules/$V"
