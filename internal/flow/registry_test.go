package flow

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRegistryIsTheOnlyList fails when any list of token sources disagrees
// with the registry: ambient detection, the workload names, the
// constructors, the verification defaults and the docs' tables.
func TestRegistryIsTheOnlyList(t *testing.T) {
	var detected, workload []string
	for _, s := range Sources() {
		if s.Detect != nil {
			detected = append(detected, s.Name)
		}
		if s.Workload {
			workload = append(workload, s.Name)
		}
		if (s.NewWorkload != nil) != s.Workload || (s.NewHuman != nil) == s.Workload {
			t.Errorf("%s: needs exactly the constructor of its kind", s.Name)
		}
		if !slices.Contains(VerifyModes(), string(s.DefaultVerify)) {
			t.Errorf("%s: default verification %q is not a mode", s.Name, s.DefaultVerify)
		}
	}
	d := DetectAmbient(WorkloadOptions{ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist }},
		func(string) (os.FileInfo, error) { return nil, os.ErrNotExist })
	var candidates []string
	for _, c := range d.Candidates {
		candidates = append(candidates, c.Name)
	}
	if diff := cmp.Diff(detected, candidates); diff != "" {
		t.Errorf("DetectAmbient's candidates differ from the registry's detected sources (-registry +detection):\n%s", diff)
	}
	if diff := cmp.Diff(workload, WorkloadSourceNames()); diff != "" {
		t.Errorf("WorkloadSourceNames (-registry +got):\n%s", diff)
	}
	if diff := cmp.Diff(append([]string{Auto}, names(Sources())...), FlowNames()); diff != "" {
		t.Errorf("FlowNames (-registry +got):\n%s", diff)
	}

	doc := readDoc(t, "workload-identity.md")
	section := doc[strings.Index(doc, "\n## Sources\n"):]
	section = section[:strings.Index(section[1:], "\n## ")+1]
	var table []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\|").FindAllStringSubmatch(section, -1) {
		table = append(table, m[1])
	}
	if diff := cmp.Diff(workload, table); diff != "" {
		t.Errorf("docs/workload-identity.md's table of sources differs from the registry (-registry +docs):\n%s", diff)
	}

	cfg := readDoc(t, "configuration.md")
	row := regexp.MustCompile("(?m)^\\| `flow` \\|.*$").FindString(cfg)
	var listed []string
	for _, m := range regexp.MustCompile("`([a-z-]+)`").FindAllStringSubmatch(row, -1) {
		if m[1] != "flow" && !slices.Contains(listed, m[1]) {
			listed = append(listed, m[1])
		}
	}
	if diff := cmp.Diff(FlowNames(), listed); diff != "" {
		t.Errorf("docs/configuration.md's flow row differs from the registry (-registry +docs):\n%s", diff)
	}
}

func names(s []SourceInfo) []string {
	var out []string
	for _, x := range s {
		out = append(out, x.Name)
	}
	return out
}

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
