#!/bin/sh
# usage: mkinitramfs.sh ROOT VER OUT.cpio.gz
# ROOT holds lib/modules/VER (an unpacked kernel package). The initramfs is busybox, our
# init, and only the modules needed to reach the host's root over 9p; everything else is
# loaded on demand from the shared module tree once the guest runs.
set -eu
R=$1 V=$2 OUT=$3
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
mkdir -p "$D/bin" "$D/mods" "$D/proc" "$D/sys" "$D/dev"
cp /bin/busybox "$D/bin/"
cp "$(dirname "$0")/init" "$D/init"
chmod +x "$D/init"
modprobe -d "$R" -S "$V" --show-depends -a virtio_pci 9pnet_virtio 9p overlay |
  awk '$1=="insmod" && !s[$2]++ {print $2}' | while read -r f; do
    n=$(basename "$f" .xz)
    case $f in
      *.xz) xz -dc "$f" >"$D/mods/$n" ;;
      *.zst) n=$(basename "$f" .zst) && zstd -dcq "$f" >"$D/mods/$n" ;;
      *) cp "$f" "$D/mods/$n" ;;
    esac
    echo "$n" >>"$D/mods/order"
  done
(cd "$D" && find . | cpio -o -H newc --quiet | gzip -1) >"$OUT"
