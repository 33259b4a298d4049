#!/usr/bin/env bash
# Builds the host addon (native/host/build/spiderpool_host.node) with plain gcc against the
# toolchain's Node headers: no node-gyp. The agent loads it from that path at run time
# (src/host/addon.ts), so the esbuild bundle needs no loader for .node files.
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$(cd ../.. && pwd)"
INC="${NODE_INCLUDE:-$ROOT/.toolchain/node/include/node}"
mkdir -p build
CC="${CC:-gcc}"
FLAGS=(-std=c11 -O2 -Wall -Wextra -Werror -Wformat=2 -Wshadow -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC)
# N-API symbols resolve against the node binary that loads the addon.
"$CC" "${FLAGS[@]}" -I"$INC" -DNAPI_VERSION=8 -shared -Wl,--unresolved-symbols=ignore-all \
  -o build/spiderpool_host.node.tmp host.c
mv build/spiderpool_host.node.tmp build/spiderpool_host.node
