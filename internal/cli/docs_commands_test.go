package cli

import (
	"bytes"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/testutil/doccmd"
)

// docEnums are the values the documented command lines may give the
// enumerated flags: those shell completion offers.
func docEnums() doccmd.Enums {
	enums := doccmd.Enums{"* --flow": flow.FlowNames()}
	for k, v := range flagValues {
		enums[k] = v
	}
	return enums
}

// TestDocsCommandLinesParse parses every dagster-oidc command line of
// README.md and docs/ (code blocks and inline code; docs/cli is generated
// from the tree itself) against the real command tree: the command exists,
// its flags exist and parse, enumerated values are valid and its
// arguments are present. dagster-oidc-sandbox's lines are checked in
// cmd/dagster-oidc-sandbox.
func TestDocsCommandLinesParse(t *testing.T) {
	newRoot := func() *cobra.Command {
		var out, errOut bytes.Buffer
		return NewRootCmd(docsFactory(&out, &errOut))
	}
	f := doccmd.Finder{Program: "dagster-oidc", SynopsisTables: true}
	doccmd.CheckPages(t, filepath.Join("..", ".."), f, newRoot, docEnums(), 150)
	// The warm front takes the same command lines (it runs this tree for
	// whatever it does not answer itself).
	doccmd.CheckPages(t, filepath.Join("..", ".."), doccmd.Finder{Program: "dagster-oidc-cached"}, newRoot, docEnums(), 2)
}

var choiceUsageRE = regexp.MustCompile(`^[a-z0-9-]+(\|[a-z0-9-]+)+\b`)

// TestDocsEnumeratedFlagsAreKnown: a flag whose help lists its values
// (a|b|c) has them in flagValues (or is --flow), so shell completion offers
// them and the documented command lines are checked against them.
func TestDocsEnumeratedFlagsAreKnown(t *testing.T) {
	var out, errOut bytes.Buffer
	root := NewRootCmd(docsFactory(&out, &errOut))
	enums := docEnums()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(c.CommandPath(), root.Name()+" ")
		c.LocalFlags().VisitAll(func(fl *pflag.Flag) {
			m := choiceUsageRE.FindString(fl.Usage)
			if m == "" {
				return
			}
			values, ok := enums[path+" --"+fl.Name]
			if !ok {
				values, ok = enums["* --"+fl.Name]
			}
			if !ok {
				t.Errorf("%s --%s lists values (%s) that flagValues does not", path, fl.Name, m)
				return
			}
			for _, v := range strings.Split(m, "|") {
				if !slices.Contains(values, v) {
					t.Errorf("%s --%s: help lists %q, flagValues has %v", path, fl.Name, v, values)
				}
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// TestDocsREADMEMatchesTheTree: the README's command table names every
// command of the tree, and its profile's flow comment lists the source
// registry's flows in the registry's order.
func TestDocsREADMEMatchesTheTree(t *testing.T) {
	text := readFile(t, filepath.Join("..", "..", "README.md"))
	table := text[strings.Index(text, "\n| command | what it does |\n"):]
	table = table[:strings.Index(table, "\n\n")]
	listed := map[string]bool{}
	for _, row := range strings.Split(table, "\n") {
		cell, _, _ := strings.Cut(strings.TrimPrefix(row, "| "), " | ")
		for _, m := range regexp.MustCompile("`([a-z-]+)").FindAllStringSubmatch(cell, -1) {
			listed[m[1]] = true
		}
	}
	var out, errOut bytes.Buffer
	for _, c := range NewRootCmd(docsFactory(&out, &errOut)).Commands() {
		if c.IsAvailableCommand() && !listed[c.Name()] {
			t.Errorf("README.md's command table lacks %s", c.Name())
		}
	}
	m := regexp.MustCompile(`(?m)^\s+flow: auto\s+# (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatal("README.md's profile has no flow: auto line listing the flows")
	}
	if d := cmp.Diff(strings.Join(flow.FlowNames(), "|"), m[1]); d != "" {
		t.Errorf("README.md's flow comment differs from the source registry (-registry +README):\n%s", d)
	}
}
