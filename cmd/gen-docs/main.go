// Command gen-docs writes the Markdown reference of the dagster-oidc commands
// into docs/cli (or the directory given with -out), replacing the pages there:
//
//	go run ./cmd/gen-docs
//
// internal/cli's TestDocsCLIReferenceIsCurrent fails when docs/cli differs from
// what this writes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dagster-oidc/dagster-oidc/cmd/gen-docs/gendocs"
	"github.com/dagster-oidc/dagster-oidc/internal/cli"
	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
)

func main() {
	out := flag.String("out", filepath.Join("docs", "cli"), "directory to write the pages into")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen-docs:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("could not create %s: %w", dir, err)
	}
	// Pages of commands that no longer exist must go too.
	old, err := gendocs.Pages(dir)
	if err != nil {
		return err
	}
	for name := range old {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("could not remove the old page %s: %w", name, err)
		}
	}
	return gendocs.Write(cli.NewRootCmd(docsFactory()), dir)
}

// docsFactory is a Factory with an empty environment and no side effects:
// the help texts must not depend on who generates them.
func docsFactory() *cmdutil.Factory {
	var discard bytes.Buffer
	return &cmdutil.Factory{
		IO:  &iostreams.IOStreams{In: strings.NewReader(""), Out: &discard, ErrOut: &discard},
		Env: func(string) (string, bool) { return "", false },
	}
}
