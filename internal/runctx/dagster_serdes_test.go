package runctx

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// dagsterSerdes is testdata/dagster/serdes.json: run-worker command lines
// that the installed Dagster serialised (testdata/dagster/generate.py;
// python/tests checks that the venv's Dagster still serialises them so).
type dagsterSerdes struct {
	DagsterVersion string `json:"dagster_version"`
	Cases          []struct {
		Name string            `json:"name"`
		Argv []string          `json:"argv"`
		Env  map[string]string `json:"env"`
		Want struct {
			ID      string `json:"id"`
			Job     string `json:"job"`
			Step    string `json:"step"`
			Command string `json:"command"`
		} `json:"want"`
	} `json:"cases"`
}

// TestParseDagsterSerdes: the parser reads what Dagster itself writes, not
// only hand-written JSON.
func TestParseDagsterSerdes(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "dagster", "serdes.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc dagsterSerdes
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) < 6 || doc.DagsterVersion == "" {
		t.Fatalf("serdes.json has %d cases from dagster %q; regenerate it with generate.py", len(doc.Cases), doc.DagsterVersion)
	}
	for _, c := range doc.Cases {
		t.Run(c.Name, func(t *testing.T) {
			env := func(k string) (string, bool) { v, ok := c.Env[k]; return v, ok }
			got := Parse(c.Argv, env)
			want := Run{ID: c.Want.ID, Job: c.Want.Job, Step: c.Want.Step, Command: c.Want.Command}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parse of dagster %s's command line (-want +got):\n%s", doc.DagsterVersion, diff)
			}
		})
	}
}
