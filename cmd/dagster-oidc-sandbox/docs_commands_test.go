package main

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/testutil/doccmd"
)

// TestDocsSandboxCommandLinesParse parses every dagster-oidc-sandbox
// command line of README.md and docs/ against the sandbox's command tree,
// as internal/cli's TestDocsCommandLinesParse does for dagster-oidc.
func TestDocsSandboxCommandLinesParse(t *testing.T) {
	newRoot := func() *cobra.Command { return newRootCmd(io.Discard, io.Discard) }
	enums := doccmd.Enums{"demo --user": {"alice", "bob", "mallory"}}
	doccmd.CheckPages(t, filepath.Join("..", ".."), doccmd.Finder{Program: "dagster-oidc-sandbox"}, newRoot, enums, 3)
}
