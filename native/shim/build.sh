#!/usr/bin/env bash
# Builds the static CNI shim into native/shim/build/ and links it under its three names.
# SANITIZE=1 builds an AddressSanitizer/UBSan variant (dynamic) for the fuzz test.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p build
CC="${CC:-gcc}"
FLAGS=(-std=c11 -O2 -Wall -Wextra -Werror -Wformat=2 -Wshadow -fstack-protector-strong -D_FORTIFY_SOURCE=2)
if [ "${SANITIZE:-0}" = "1" ]; then
  "$CC" "${FLAGS[@]}" -g -fsanitize=address,undefined -fno-omit-frame-pointer -o build/spiderpool-asan shim.c
  exit 0
fi
"$CC" "${FLAGS[@]}" -static -s -o build/spiderpool.tmp shim.c
mv build/spiderpool.tmp build/spiderpool
ln -f build/spiderpool build/coordinator
ln -f build/spiderpool build/ifacer
