#!/usr/bin/env bash
# Checks the release configuration without publishing anything:
#   1. `goreleaser check` validates goreleaser.yaml;
#   2. `goreleaser build --snapshot --single-target` builds the three binaries for
#      the host only (linux/amd64 in CI) into dist/ (gitignored), running the
#      before hooks (the shell completions);
#   3. the built dagster-oidc must answer `version` with the injected version,
#      commit and date.
# With --full it also runs `goreleaser release --snapshot`: every target (18
# binaries), the archives, whose content it checks (both product binaries,
# README, LICENSE, completions, CLI reference, no sandbox in the product
# archive), and the
# checksums file. goreleaser's release command has no --single-target.
#
# goreleaser is built once from the Go module proxy and cached outside the
# repository, like MinIO in scripts/deps.sh. The first build takes minutes
# (12 on a busy 2-core machine with a cold module cache); later runs reuse it.
set -euo pipefail

GORELEASER_VERSION=v2.15.1
BIN_DIR=${DAGSTER_OIDC_TOOLS:-$HOME/.cache/dagster-oidc/bin}
GORELEASER="$BIN_DIR/goreleaser"

cd "$(dirname "$0")/.."

if [ ! -x "$GORELEASER" ] || ! "$GORELEASER" --version 2>/dev/null | grep -q "${GORELEASER_VERSION#v}"; then
  echo "release-check: building goreleaser $GORELEASER_VERSION into $BIN_DIR (several minutes, once)" >&2
  mkdir -p "$BIN_DIR"
  (cd /tmp && GOBIN="$BIN_DIR" GOFLAGS=-mod=mod go install "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION")
fi

echo "release-check: goreleaser check" >&2
"$GORELEASER" check

log=$(mktemp)
trap 'rm -f "$log"' EXIT
goos=$(go env GOOS)
goarch=$(go env GOARCH)
echo "release-check: snapshot build for $goos/$goarch" >&2
if ! "$GORELEASER" build --snapshot --clean --single-target >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "release-check: the snapshot build failed; rerun: $GORELEASER build --snapshot --clean --single-target" >&2
  exit 1
fi
cp "$log" dist/goreleaser-build.log

check_version() {
  local bin=$1 out
  out=$("$bin" version)
  echo "release-check: $bin version: $out" >&2
  case "$out" in
    *"(commit unknown"* | *"built unknown)"* | "dagster-oidc dev "*)
      echo "release-check: version, commit or date was not injected by -ldflags -X" >&2
      exit 1
      ;;
    *"(commit none"*)
      echo "release-check: note: goreleaser could not read the git state (it needs a remote, e.g. origin); a clone from GitHub shows the commit and its date" >&2
      ;;
  esac
}

bin=$(find dist -type f -name dagster-oidc -path "*${goos}_${goarch}*" | head -n 1)
if [ -z "$bin" ]; then
  echo "release-check: no dagster-oidc binary under dist/" >&2
  exit 1
fi
check_version "$bin"
if [ -z "$(find dist -type f -name dagster-oidc-cached -path "*${goos}_${goarch}*")" ]; then
  echo "release-check: no dagster-oidc-cached binary under dist/" >&2
  exit 1
fi
for shell in bash zsh fish powershell; do
  if [ ! -s ".cache/completions/dagster-oidc.$shell" ]; then
    echo "release-check: the before hook wrote no $shell completion" >&2
    exit 1
  fi
done

if [ "${1:-}" != "--full" ]; then
  echo "release-check: OK (pass --full to build every target and the archives)" >&2
  exit 0
fi

echo "release-check: full snapshot release (every target, archives, checksums)" >&2
if ! "$GORELEASER" release --snapshot --clean >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "release-check: the snapshot release failed; rerun: $GORELEASER release --snapshot --clean" >&2
  exit 1
fi
cp "$log" dist/goreleaser-release.log
check_version "$(find dist -type f -name dagster-oidc -path "*${goos}_${goarch}*" | head -n 1)"

archive=$(find dist -maxdepth 1 -name "dagster-oidc_*_${goos}_${goarch}.tar.gz" | head -n 1)
if [ -z "$archive" ]; then
  echo "release-check: no dagster-oidc archive under dist/" >&2
  exit 1
fi
listing=$(tar -tzf "$archive")
for want in dagster-oidc dagster-oidc-cached README.md LICENSE completions/dagster-oidc.bash completions/dagster-oidc.zsh \
  completions/dagster-oidc.fish completions/dagster-oidc.powershell docs/cli/dagster-oidc.md; do
  if ! grep -qx "$want" <<<"$listing"; then
    echo "release-check: $archive lacks $want" >&2
    exit 1
  fi
done
if grep -q sandbox <<<"$listing"; then
  echo "release-check: $archive carries the sandbox; it belongs in its own archive" >&2
  exit 1
fi
if ! ls dist/*_checksums.txt >/dev/null 2>&1; then
  echo "release-check: no checksums file under dist/" >&2
  exit 1
fi
echo "release-check: OK ($archive, $(ls dist/*_checksums.txt))" >&2
