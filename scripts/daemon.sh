# shellcheck shell=bash
# Sourced by bin/spiderpool-agent and bin/spiderpool-controller: runs a daemon from its
# bundle in dist/ (scripts/build-dist.ts), rebuilding the bundle first when it is missing or
# older than any source, so the launcher always runs what the tree says.
run_daemon() {
  local root="$1" name="$2"
  shift 2
  local bundle="$root/dist/$name.mjs"
  stale() {
    [ ! -f "$bundle" ] || [ -n "$(find "$root/src" "$root/package-lock.json" "$root/scripts/build-dist.ts" -newer "$bundle" -print -quit)" ]
  }
  if stale; then
    mkdir -p "$root/dist"
    # Daemons started together (the benchmarks start ten agents) build once: the check is
    # made again under the lock.
    (
      flock 9
      if stale; then node "$root/scripts/build-dist.ts" "$name" >&2; fi
    ) 9>"$root/dist/.build.lock"
  fi
  # The agent's host addon (ADR 8) is loaded from native/host/build/ at run time; build it
  # when missing or older than its source, under the same lock.
  local addon="$root/native/host/build/spiderpool_host.node"
  if [ "$name" = spiderpool-agent ] && { [ ! -f "$addon" ] || [ "$root/native/host/host.c" -nt "$addon" ]; }; then
    mkdir -p "$root/dist"
    (
      flock 9
      if [ ! -f "$addon" ] || [ "$root/native/host/host.c" -nt "$addon" ]; then bash "$root/native/host/build.sh" >&2; fi
    ) 9>"$root/dist/.build.lock"
  fi
  # Semi-spaces of 4 MB instead of V8's 16: the daemons' objects are small and short-lived
  # (one pool version replaces the last), and every node runs an agent. Measured
  # (docs/performance.md): 2 MB took the agent's peak RSS in the 1000-pod storm from 139 to
  # ~110 MB; once the rest had shrunk, 4 MB costs 5 MB of RSS over 2 MB (86/90 MB against
  # 81/85 in the IPv4/dual storm; 8 MB: 90/99) and gives back 15 % of the CPU per ADD with 8
  # in flight on a 5 000-record pool (1.10-1.25 ms against 1.35-1.45, four A/B runs).
  # --optimize-for-size saved 5 MB more but doubled that CPU, so it is not used.
  # An initial heap of 24 MB (48 until issue 16): the old generation's limit then starts
  # above what the daemons keep (some 11-17 MB), instead of V8's default just above it.
  # Sockets' read buffers count as external memory and with the default limit a 5 000-record
  # pool, whose every write and echo is half a megabyte each way, drove V8 into a full
  # collection every third write. 48 MB spared that CPU but let garbage promoted by every
  # ADD and DEL pile up to 48 MB before the first full collection (none in 4 000 cycles),
  # pages the process keeps: 120 MB of RSS after 10 000 ADD/DEL cycles against 94 with 24
  # and 96 without the flag (docs/performance.md, `npm run bench -- soak`).
  # Stack traces name lines of the bundle; NODE_OPTIONS=--enable-source-maps maps them to
  # src/ through the .map beside it, at some 60 MB of RSS, so it is not on by default.
  # SPIDERPOOL_NODE_FLAGS replaces these flags, for `npm run bench -- soak --agent-node-flags`
  # to measure alternatives with the same launcher.
  # shellcheck disable=SC2086 # the flags are words
  exec node ${SPIDERPOOL_NODE_FLAGS:---max-semi-space-size=4 --initial-heap-size=24} "$bundle" "$@"
}
