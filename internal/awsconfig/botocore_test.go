//go:build botocore

package awsconfig

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGoldenFilesParseWithBotocore reads every .after golden file with
// Debian's botocore (python3-botocore 1.29.27 at /usr/bin/python3) and
// checks that it sees the profile dagster-oidc wrote. Run with
// `go test -tags botocore ./internal/awsconfig/`.
func TestGoldenFilesParseWithBotocore(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.after"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	const script = `
import json, sys
import botocore.configloader as c
m = c.build_profile_map(c.raw_config_parse(sys.argv[1]))
print(json.dumps(m["profiles"]))
`
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out, err := exec.Command("/usr/bin/python3", "-c", script, f).Output()
			if err != nil {
				t.Fatalf("botocore could not parse %s: %v", f, err)
			}
			var profiles map[string]map[string]any
			if err := json.Unmarshal(out, &profiles); err != nil {
				t.Fatal(err)
			}
			name := "dev"
			if filepath.Base(f) == "default_profile.after" {
				name = "default"
			}
			want := devSettings["credential_process"]
			if filepath.Base(f) == "empty_value_left_alone.after" {
				want = "new"
			}
			if got := profiles[name]["credential_process"]; got != want {
				t.Errorf("botocore reads credential_process = %q, want %q (profiles %v)", got, want, profiles)
			}
		})
	}
}
