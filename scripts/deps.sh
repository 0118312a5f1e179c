#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, idempotently.
#
#   scripts/deps.sh packages   Debian packages: Secret Service, awscli, boto3,
#                              Chromium, rsyslog, hyperfine
#   scripts/deps.sh tools      MinIO (the real STS peer) and goreleaser, built
#                              from the Go module proxy in parallel and cached
#                              outside the repository ($DAGSTER_OIDC_TOOLS)
#   scripts/deps.sh python     a Python venv with pinned Dagster, boto3 and the
#                              python/ package (python/requirements.txt, hashes
#                              required), at $DAGSTER_OIDC_VENV, cached by the
#                              file's hash
#   scripts/deps.sh            all three
#
# Prints the tools directory on its last line.
set -euo pipefail

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
GORELEASER_VERSION=v2.15.1
BIN_DIR=${DAGSTER_OIDC_TOOLS:-$HOME/.cache/dagster-oidc/bin}
VENV=${DAGSTER_OIDC_VENV:-$HOME/.cache/dagster-oidc/venv}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}

packages() {
  local need=() p
  for p in gnome-keyring dbus libsecret-tools awscli python3-boto3 chromium rsyslog hyperfine time strace; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  echo "deps: installing ${need[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  # Never dbus-x11: go-keyring would autolaunch a session bus that outlives the tests.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

# tool NAME MODULE@VERSION VERSION-CHECK-STRING
tool() {
  local name=$1 mod=$2 want=$3
  if [ -x "$BIN_DIR/$name" ] && { [ -z "$want" ] || "$BIN_DIR/$name" --version 2>/dev/null | grep -q "$want"; }; then
    return 0
  fi
  echo "deps: building $mod into $BIN_DIR (minutes, once per machine)" >&2
  mkdir -p "$BIN_DIR"
  (cd /tmp && GOBIN="$BIN_DIR" GOFLAGS=-mod=mod go install "$mod")
}

tools() {
  tool minio "github.com/minio/minio@$MINIO_VERSION" "" &
  local minio=$!
  tool goreleaser "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION" "${GORELEASER_VERSION#v}" &
  local goreleaser=$!
  local rc=0
  wait "$minio" || rc=1
  wait "$goreleaser" || rc=1
  return $rc
}

# The interpreter of the venv: a CPython 3.11 to 3.13 found on PATH (pyenv's
# here), never Debian's /usr/bin/python3, whose boto3 the awscli and boto3
# tests pin.
venv_python() {
  local c p
  for c in python3.11 python3.12 python3.13 python3; do
    p=$(command -v "$c" 2>/dev/null) || continue
    case "$(readlink -f "$p")" in /usr/bin/*) continue ;; esac
    "$p" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] <= (3, 13)))' 2>/dev/null || continue
    echo "$p"
    return 0
  done
  echo "deps: no Python 3.11-3.13 on PATH other than /usr/bin (install one, e.g. with pyenv)" >&2
  return 1
}

python_venv() {
  local req=$ROOT/python/requirements.txt stamp="$VENV/.dagster-oidc-requirements" want py
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] &&
    "$VENV/bin/python" - "$ROOT/python" 2>/dev/null <<'PY'; then
# The editable install must be this checkout's: CI clones main afresh into
# another folder, and a venv kept from an earlier clone would import its code.
import importlib.util, os, sys
spec = importlib.util.find_spec("dagster_oidc")
root = os.path.realpath(sys.argv[1])
sys.exit(spec is None or not os.path.realpath(spec.origin or "").startswith(root + os.sep))
PY
    return 0
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    py=$(venv_python)
    echo "deps: creating $VENV with $py" >&2
    "$py" -m venv "$VENV"
  fi
  echo "deps: installing $req into $VENV (a few minutes, once per change of the file)" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check --require-hashes --no-deps -r "$req"
  # The package itself, editable, built offline by the pinned setuptools.
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --no-build-isolation --no-index -e "$ROOT/python"
  echo "$want" >"$stamp"
}

case "$what" in
  packages) packages ;;
  tools) tools ;;
  python) python_venv; echo "$VENV"; exit 0 ;;
  all) packages; tools; python_venv ;;
  *) echo "usage: scripts/deps.sh [packages|tools|python]" >&2; exit 2 ;;
esac
echo "$BIN_DIR"
