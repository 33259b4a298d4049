#!/bin/sh
# Runs inside the kernel lab's guest (as PID 1's child, as root, in a throwaway overlay):
# every kernel-dependent test in one node --test process, since Node starts about 40x slower
# under emulation. Counts go to $share/level-kernel.json for scripts/test's closing line.
# env (from the kernel command line): checkout, share, tests (comma-separated files; all when empty).
set -u
cd "$checkout" || exit 1
# The serial console is a terminal, but the output ends up in a log: no colours.
export PATH="$checkout/.toolchain/node/bin:$PATH" KLAB_GUEST=1 NO_COLOR=1
echo "kernel-lab guest: kernel $(uname -r), $(nproc) cpus, node $(node --version)"
if [ -n "$tests" ]; then
  set -- $(echo "$tests" | tr , ' ')
else
  set -- test/kernel/*.test.ts
fi
# WebAssembly stays on Liftoff: under emulation V8 crashed now and then while tiering it up
# (llhttp, the CJS lexer): "Check failed: it->second.Size() > offset" in WasmTriggerTierUp.
exec node --no-wasm-dynamic-tiering --liftoff-only --test --test-isolation=none --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=./scripts/test-summary-reporter.ts \
  --test-reporter-destination="$share/level-kernel.json" \
  "$@"
