#!/usr/bin/env bash
# The whole test suite, as README.md and .ci/run give it. It installs what the
# tests need (scripts/deps.sh), then runs static checks, unit and in-process
# integration tests, the real Secret Service tests, the rsyslog tests, short
# runs of every fuzz target, the end-to-end tests against real peers, and the
# release check, and the Python package's checks and tests. MinIO and
# goreleaser build, and the Python venv installs, in the background meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."

export DAGSTER_OIDC_TOOLS=${DAGSTER_OIDC_TOOLS:-$HOME/.cache/dagster-oidc/bin}
# A count, not a duration: Go 1.26's fuzz coordinator can report a spurious
# "context deadline exceeded" when a -fuzztime duration ends while a worker
# is mid-input on a loaded machine (golang/go#75804, fixed in Go 1.27).
FUZZTIME=${FUZZTIME:-20000x}
step() { printf '\n== %s\n' "$*" >&2; }

export DAGSTER_OIDC_VENV=${DAGSTER_OIDC_VENV:-$HOME/.cache/dagster-oidc/venv}
tools_log=$(mktemp)
scripts/deps.sh tools >"$tools_log" 2>&1 &
tools_pid=$!
venv_log=$(mktemp)
scripts/deps.sh python >"$venv_log" 2>&1 &
venv_pid=$!
trap 'kill $tools_pid $venv_pid 2>/dev/null || true; rm -f "$tools_log" "$venv_log"' EXIT

step "Debian packages"
scripts/deps.sh packages >/dev/null

step "gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
go vet -tags 'e2e keyring rsyslog minio botocore dagster proxy' ./...

step "unit and in-process integration tests (sandbox provider on 127.0.0.1)"
go test -count=1 ./...

step "real Secret Service (gnome-keyring under dbus-run-session)"
dbus-run-session -- scripts/with-keyring.sh go test -count=1 -tags keyring ./internal/cache/...
dbus-run-session -- scripts/with-keyring.sh go test -count=1 -tags 'e2e keyring' -run Keyring ./e2e/...

step "rsyslog as audit collector; botocore reading the AWS config writer's output"
go test -count=1 -tags rsyslog ./internal/audit/...
go test -count=1 -tags botocore ./internal/awsconfig/...

step "fuzz targets, $FUZZTIME inputs each"
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
  done
done

step "waiting for MinIO and goreleaser"
if ! wait "$tools_pid"; then
  cat "$tools_log" >&2
  echo "could not build the test tools; see above" >&2
  exit 1
fi

step "waiting for the Python venv (pinned Dagster, boto3, the python/ package)"
if ! wait "$venv_pid"; then
  cat "$venv_log" >&2
  echo "could not install the Python venv; see above" >&2
  exit 1
fi

step "Python package: ruff, mypy, pytest against the installed Dagster"
(
  cd python
  "$DAGSTER_OIDC_VENV/bin/ruff" format --check .
  "$DAGSTER_OIDC_VENV/bin/ruff" check .
  "$DAGSTER_OIDC_VENV/bin/mypy"
  # Exit 5 is pytest's "no tests collected": a failure here, never a pass.
  "$DAGSTER_OIDC_VENV/bin/pytest" -q -p no:cacheprovider
)

step "MinIO's STS under the small STS client"
go test -count=1 -tags minio ./internal/exchange/awssts/...

step "end to end: built binaries, MinIO STS, awscli, boto3, Google's client library, Chromium, real Dagster"
# The real-Dagster tests' code location, held to the package's lint.
"$DAGSTER_OIDC_VENV/bin/ruff" format --config python/pyproject.toml --check e2e/testdata/dagster
"$DAGSTER_OIDC_VENV/bin/ruff" check --config python/pyproject.toml e2e/testdata/dagster
"$DAGSTER_OIDC_VENV/bin/mypy" --config-file python/pyproject.toml e2e/testdata/dagster/*.py
leak_report=$(mktemp)
DAGSTER_OIDC_LEAK_REPORT=$leak_report go test -count=1 -timeout 25m -tags 'e2e dagster' ./e2e/...
cat "$leak_report" >&2
rm -f "$leak_report"

step "dagster-oidc proxy in front of the real dagster-webserver: Go clients, the Dagster UI in Chromium, the role table against the installed Dagster"
# bench/proxy's code location too (its benchmark is `make bench-proxy`, not part of this run).
"$DAGSTER_OIDC_VENV/bin/ruff" format --config python/pyproject.toml --check e2e/proxy/testdata bench/proxy/testdata
"$DAGSTER_OIDC_VENV/bin/ruff" check --config python/pyproject.toml e2e/proxy/testdata bench/proxy/testdata
"$DAGSTER_OIDC_VENV/bin/mypy" --config-file python/pyproject.toml e2e/proxy/testdata/*.py bench/proxy/testdata/*.py
go test -count=1 -timeout 15m -tags proxy ./e2e/proxy/...

step "release: goreleaser check and a snapshot build"
scripts/release-check.sh
