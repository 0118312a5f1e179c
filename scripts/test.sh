#!/usr/bin/env bash
# The whole test suite, as README.md and .ci/run give it: installs what the
# tests need (scripts/deps.sh), then runs static checks, unit and in-process
# integration tests, the real Secret Service tests, the rsyslog tests, the
# end-to-end tests against real peers, and a short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

DAGSTER_OIDC_TOOLS=$(scripts/deps.sh | tail -n 1)
export DAGSTER_OIDC_TOOLS
FUZZTIME=${FUZZTIME:-10s}

step() { printf '\n== %s\n' "$*" >&2; }

step "gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
go vet -tags 'e2e keyring rsyslog minio botocore' ./...

step "unit and in-process integration tests (sandbox provider on 127.0.0.1)"
go test -count=1 ./...

step "real Secret Service (gnome-keyring under dbus-run-session)"
dbus-run-session -- scripts/with-keyring.sh go test -count=1 -tags keyring ./internal/cache/...
dbus-run-session -- scripts/with-keyring.sh go test -count=1 -tags 'e2e keyring' -run Keyring ./e2e/...

step "rsyslog as audit collector"
go test -count=1 -tags rsyslog ./internal/audit/...

step "MinIO STS under the small STS client; botocore parsing the AWS config writer's output"
go test -count=1 -tags minio ./internal/exchange/awssts/...
go test -count=1 -tags botocore ./internal/awsconfig/...

step "fuzz targets, $FUZZTIME each"
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
  done
done

step "end to end: built binaries, MinIO STS, awscli, boto3, Google's client library, Chromium"
go test -count=1 -timeout 15m -tags e2e ./e2e/...
