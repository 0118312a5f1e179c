package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProductBinaryStaysLean fails when dagster-oidc links a package whose
// initialisation would slow every start (credential_process starts the
// binary for each AWS client), or test-only code. See docs/performance.md.
func TestProductBinaryStaysLean(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	denied := []string{
		"github.com/zitadel/",          // the sandbox provider: +1.1 ms at start
		"github.com/google/cel-go",     // +2.2 ms at start
		"google.golang.org/protobuf",   // pulled in by cel-go and gRPC
		"github.com/aws/aws-sdk-go-v2", // +0.9 ms; internal/exchange/awssts speaks the one Query call
		"github.com/aws/smithy-go",     // the AWS SDK's runtime
		"google.golang.org/grpc",       // GCP client libraries' transport
		"github.com/chromedp/",         // browser tests only
		"golang.org/x/oauth2/google",   // GCP client library: tests only
		"cloud.google.com/go",          // likewise
		"/internal/sandbox",            // a token-minting provider never ships in the product
		"github.com/go-chi/",           // the sandbox's router
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps printed only %d packages; the check would prove nothing", len(deps))
	}
	for _, d := range deps {
		for _, bad := range denied {
			if strings.Contains(d, bad) {
				t.Errorf("dagster-oidc links %s (denied: %s)", d, bad)
			}
		}
	}
}
