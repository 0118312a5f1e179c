package cli

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

var errCanceled = context.Canceled

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sandboxOptions() sandbox.Options { return sandbox.Options{} }

func containsLine(text, word string) bool {
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == word {
			return true
		}
	}
	return false
}
