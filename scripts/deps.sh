# shellcheck shell=bash
# Sourced after node24.sh: installs the npm dependencies when node_modules does not match
# package-lock.json (a fresh clone, or a changed lock file).
ensure_node_modules() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if (cd "$root" && node scripts/lock-matches.ts >/dev/null 2>&1); then
    return 0
  fi
  echo "setup: npm ci" >&2
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error) >&2
}
