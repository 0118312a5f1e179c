#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, idempotently.
#
#   scripts/deps.sh packages   Debian packages: Secret Service, awscli, boto3,
#                              Chromium, rsyslog, hyperfine
#   scripts/deps.sh tools      MinIO (the real STS peer) and goreleaser, built
#                              from the Go module proxy in parallel and cached
#                              outside the repository ($DAGSTER_OIDC_TOOLS)
#   scripts/deps.sh            both
#
# Prints the tools directory on its last line.
set -euo pipefail

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
GORELEASER_VERSION=v2.15.1
BIN_DIR=${DAGSTER_OIDC_TOOLS:-$HOME/.cache/dagster-oidc/bin}
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

case "$what" in
  packages) packages ;;
  tools) tools ;;
  all) packages; tools ;;
  *) echo "usage: scripts/deps.sh [packages|tools]" >&2; exit 2 ;;
esac
echo "$BIN_DIR"
