#!/usr/bin/env bash
# The hot-path benchmark (`make bench`, after `make build`): dagster-oidc's
# warm `aws credential-process` and `token` against a Go program that prints
# a 2 KB file, in paired runs (the headline: median of per-pair ratios) and
# with hyperfine, on the file store and then (when gnome-keyring and dbus are
# installed) on the keyring store. See docs/performance.md.
#
#   bench/run.sh                         # 300 pairs per command, 100 hyperfine runs
#   bench/run.sh --pairs 50 --rounds 0   # a quick look
#   BENCH_KEYRING=0 bench/run.sh         # file store only
#
# Extra arguments go to bench/cmd/hotpath (see its -h). The JSON results are
# written to bench/results/file.json and bench/results/keyring.json.
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"

if [ ! -x bin/dagster-oidc ]; then
  echo "bench/run.sh: bin/dagster-oidc is missing; run make build (or make bench)" >&2
  exit 2
fi
for tool in /usr/bin/time hyperfine; do
  if ! command -v "$tool" >/dev/null; then
    echo "bench/run.sh: $tool is missing (Debian: apt-get install -y hyperfine time)" >&2
    exit 2
  fi
done

# The reference programs are built like the product binary (Makefile).
mkdir -p bench/results
CGO_ENABLED=0 "$GO" build -trimpath -ldflags '-s -w' -o bin/bench-baseline ./bench/baseline
CGO_ENABLED=0 "$GO" build -trimpath -ldflags '-s -w' -o bin/bench-linkonly ./bench/linkonly
CGO_ENABLED=0 "$GO" build -trimpath -ldflags '-s -w' -o bin/bench-minimal ./bench/minimal
"$GO" build -o bin/bench-hotpath ./bench/cmd/hotpath

echo "== file store (cache: file)"
bin/bench-hotpath --cache file --json bench/results/file.json "$@"

if [ "${BENCH_KEYRING:-1}" = 0 ]; then
  exit 0
fi
if ! command -v dbus-run-session >/dev/null || ! command -v gnome-keyring-daemon >/dev/null; then
  echo "bench/run.sh: no dbus-run-session or gnome-keyring-daemon; keyring store not measured" >&2
  exit 0
fi
echo
echo "== keyring store (cache: keyring, gnome-keyring on a private D-Bus session)"
dbus-run-session -- scripts/with-keyring.sh bin/bench-hotpath --cache keyring --json bench/results/keyring.json "$@"
