package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestFrontLinksOnlyTheWarmPath fails when the front links what only the
// full binary needs: every linked package's init runs at each of the AWS
// SDKs' starts, and the front exists to pay for the warm path alone
// (docs/performance.md).
func TestFrontLinksOnlyTheWarmPath(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, want := range []string{"/internal/warm", "/internal/cache", "/internal/audit", "/internal/output"} {
		if !containsSuffix(deps, want) {
			t.Fatalf("go list -deps lacks %s; the check would prove nothing:\n%s", want, out)
		}
	}
	denied := []string{
		"net/http",                  // the IdP, STS and GCP clients
		"crypto/tls",                // likewise
		"crypto/x509",               // likewise
		"github.com/spf13/",         // the command tree
		"gopkg.in/yaml",             // the profiles file: the record holds its digest
		"github.com/expr-lang/expr", // the policy
		"github.com/coreos/go-oidc", // token verification
		"github.com/go-jose/",       // likewise
		"golang.org/x/oauth2",       // the flows
		"github.com/vektah/",        // the proxy's GraphQL parser
		"github.com/coder/",         // the proxy's WebSocket
		"github.com/zalando/",       // the OS keyring: the warm path reads the file store only
		"github.com/godbus/",        // likewise (D-Bus)
		"/internal/config",
		"/internal/credentials",
		"/internal/flow",
		"/internal/exchange",
		"/internal/sandbox",
	}
	for _, d := range deps {
		for _, bad := range denied {
			if strings.Contains(d, bad) {
				t.Errorf("dagster-oidc-cached links %s (denied: %s)", d, bad)
			}
		}
	}
}

func containsSuffix(list []string, suffix string) bool {
	for _, s := range list {
		if strings.HasSuffix(s, suffix) {
			return true
		}
	}
	return false
}
