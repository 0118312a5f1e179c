#!/usr/bin/env bash
# The proxy benchmark (`make bench-proxy`): dagster-oidc proxy, oauth2-proxy
# and dagster-authkit side by side in front of one real dagster-webserver,
# and directly, with wrk; then the two proxies in front of a stub upstream
# (their own cost), and RSS per idle graphql-ws connection. See
# docs/performance.md ("The proxy in front of dagster-webserver").
#
#   bench/proxy/run.sh                                  # 8 rounds × 5 s per run
#   bench/proxy/run.sh -rounds 1 -duration 2s -ws 20    # a quick look
#
# Installs what is missing first, once per machine: wrk (Debian), oauth2-proxy
# built from its Go module into $DAGSTER_OIDC_TOOLS (like MinIO), and the
# bench's own venv with dagster-authkit (bench/proxy/requirements.txt). The
# test venv (dagster-webserver) comes from scripts/deps.sh python. Extra
# arguments go to the harness (go run ./bench/proxy -h). The JSON results
# are written to bench/results/proxy.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
GO="${GO:-go}"
OAUTH2_PROXY_VERSION=v7.15.6
BIN_DIR=${DAGSTER_OIDC_TOOLS:-$HOME/.cache/dagster-oidc/bin}
VENV=${DAGSTER_OIDC_VENV:-$HOME/.cache/dagster-oidc/venv}
BENCH_VENV=${DAGSTER_OIDC_BENCH_VENV:-$HOME/.cache/dagster-oidc/bench-venv}

if ! command -v wrk >/dev/null; then
  echo "bench/proxy: installing wrk (Debian)" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
if ! "$GO" version -m "$BIN_DIR/oauth2-proxy" 2>/dev/null | grep -q "oauth2-proxy/v7[[:space:]]*$OAUTH2_PROXY_VERSION"; then
  echo "bench/proxy: building oauth2-proxy $OAUTH2_PROXY_VERSION into $BIN_DIR (minutes, once)" >&2
  mkdir -p "$BIN_DIR"
  (cd /tmp && GOBIN="$BIN_DIR" GOFLAGS=-mod=mod "$GO" install "github.com/oauth2-proxy/oauth2-proxy/v7@$OAUTH2_PROXY_VERSION")
fi
if [ ! -x "$VENV/bin/dagster-webserver" ]; then
  scripts/deps.sh python >/dev/null
fi
req=bench/proxy/requirements.txt
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ "$(cat "$BENCH_VENV/.bench-requirements" 2>/dev/null)" != "$want" ]; then
  echo "bench/proxy: installing $req into $BENCH_VENV" >&2
  # The test venv's interpreter (scripts/deps.sh picks a CPython 3.11-3.13).
  [ -x "$BENCH_VENV/bin/pip" ] || "$(readlink -f "$VENV/bin/python")" -m venv "$BENCH_VENV"
  "$BENCH_VENV/bin/pip" install -q --disable-pip-version-check -r "$req"
  echo "$want" >"$BENCH_VENV/.bench-requirements"
fi

make build >/dev/null
mkdir -p bench/results
"$GO" build -o bin/bench-proxy ./bench/proxy
exec bin/bench-proxy -cli bin/dagster-oidc -oauth2-proxy "$BIN_DIR/oauth2-proxy" -venv "$VENV" \
  -bench-venv "$BENCH_VENV" -json bench/results/proxy.json "$@"
