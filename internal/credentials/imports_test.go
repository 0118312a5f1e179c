package credentials

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestImportRules keeps the layers of docs/architecture.md: commands call
// use cases, use cases call the leaf packages, and nothing calls upward.
func TestImportRules(t *testing.T) {
	const mod = "github.com/dagster-oidc/dagster-oidc/"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, mod+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		imports[strings.TrimPrefix(f[0], mod)] = f[1:]
	}
	if len(imports) < 20 {
		t.Fatalf("go list found %d packages; the check would prove nothing", len(imports))
	}
	// upper are the packages above the leaves: commands, what they
	// share, and use cases.
	upper := []string{"internal/cli", "internal/cmdutil", "internal/credentials", "internal/session"}
	rules := []struct {
		from   func(pkg string) bool
		banned []string
		why    string
	}{
		{is("internal/cli"), []string{"internal/exchange/", "internal/session", "internal/sandbox"},
			"commands reach the pipeline through internal/credentials"},
		{is("internal/cmdutil"), []string{"internal/cli", "internal/exchange/", "internal/session", "internal/sandbox"},
			"what the commands share holds no command and reaches the pipeline through internal/credentials"},
		{is("internal/credentials"), []string{"internal/cli", "internal/cmdutil", "github.com/spf13/cobra", "internal/sandbox"},
			"use cases know nothing of flags or terminals (the proxy and exec call them too)"},
		{is("internal/session"), []string{"internal/cli", "internal/cmdutil", "internal/credentials", "internal/exchange/", "github.com/spf13/cobra"},
			"the token use case is below the credential use cases"},
		{func(pkg string) bool {
			return strings.HasPrefix(pkg, "internal/") && !strings.HasPrefix(pkg, "internal/cli") && !slices.Contains(upper, pkg) &&
				!strings.HasPrefix(pkg, "internal/sandbox") && !strings.HasPrefix(pkg, "internal/testutil") && !strings.HasPrefix(pkg, "internal/proxy")
		}, append(upper, "github.com/spf13/cobra", "internal/sandbox"),
			"leaf packages (flow, cache, exchange, policy, output, audit, config, ...) never import upward, cobra or the sandbox"},
	}
	for pkg, deps := range imports {
		for _, r := range rules {
			if !r.from(pkg) {
				continue
			}
			for _, d := range deps {
				for _, b := range r.banned {
					if d = strings.TrimPrefix(d, mod); d == b || (strings.HasSuffix(b, "/") && strings.HasPrefix(d, b)) {
						t.Errorf("%s imports %s: %s", pkg, d, r.why)
					}
				}
			}
		}
	}
}

func is(name string) func(string) bool { return func(pkg string) bool { return pkg == name } }

// TestDurationsUseTheInjectedClock: time.Since and time.Until read the
// system clock behind the injected one; only internal/clock (and the
// sandbox, which plays the world) may.
func TestDurationsUseTheInjectedClock(t *testing.T) {
	root := filepath.Join("..", "..")
	var found []string
	for _, dir := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if d.IsDir() && (rel == filepath.Join("internal", "clock") || rel == filepath.Join("internal", "sandbox") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, call := range []string{"time.Since(", "time.Until("} {
				if strings.Contains(string(b), call) {
					found = append(found, rel+": "+call)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(found) > 0 {
		t.Errorf("durations computed from the system clock, not the injected one:\n%s", strings.Join(found, "\n"))
	}
}
