# dagster-oidc: the two set-up commands are `make demo` and `make test`.
GO ?= go
BIN := bin
LDFLAGS := -s -w -X main.version=$(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: build demo test bench bench-proxy clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/dagster-oidc ./cmd/dagster-oidc
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/dagster-oidc-cached ./cmd/dagster-oidc-cached
	$(GO) build -trimpath -o $(BIN)/dagster-oidc-sandbox ./cmd/dagster-oidc-sandbox

# The demo: a local OpenID provider and STS emulator drive the real binary
# through login, verification, caching, status and a credential_process document.
demo: build
	$(BIN)/dagster-oidc-sandbox demo --cli $(BIN)/dagster-oidc

# Every test, installing what they need first (Debian packages, MinIO and
# goreleaser, a Python venv with pinned Dagster): scripts/test.sh.
test:
	scripts/test.sh

bench: build
	bench/run.sh

# The proxy side by side with oauth2-proxy and dagster-authkit (docs/performance.md).
bench-proxy:
	bench/proxy/run.sh

clean:
	rm -rf $(BIN) dist
