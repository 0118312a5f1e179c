#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, idempotently:
# Debian packages (Secret Service, awscli, boto3, Chromium, rsyslog, hyperfine)
# and a MinIO server built from the Go module proxy (the real STS peer),
# cached outside the repository.
set -euo pipefail

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
BIN_DIR=${DAGSTER_OIDC_TOOLS:-$HOME/.cache/dagster-oidc/bin}

need=()
for p in gnome-keyring dbus libsecret-tools awscli python3-boto3 chromium rsyslog hyperfine; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  # Never dbus-x11: go-keyring would autolaunch a session bus that outlives the tests.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -x "$BIN_DIR/minio" ]; then
  echo "deps: building minio $MINIO_VERSION into $BIN_DIR (a few minutes, once)" >&2
  mkdir -p "$BIN_DIR"
  (cd /tmp && GOBIN="$BIN_DIR" GOFLAGS=-mod=mod go install "github.com/minio/minio@$MINIO_VERSION")
fi
echo "$BIN_DIR"
