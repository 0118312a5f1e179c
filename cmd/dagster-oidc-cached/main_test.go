package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// buildFront builds the front into a directory of its own and returns its
// path.
func buildFront(t *testing.T) string {
	t.Helper()
	front := filepath.Join(t.TempDir(), "dagster-oidc-cached")
	if out, err := exec.Command("go", "build", "-o", front, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return front
}

func runFront(t *testing.T, front string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(front, args...)
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "DAGSTER_OIDC_CACHE_DIR=" + t.TempDir()}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

func TestFrontRunsTheFullBinaryBesideIt(t *testing.T) {
	front := buildFront(t)
	t.Run("missing", func(t *testing.T) {
		out, stderr, code := runFront(t, front, nil, "aws", "credential-process")
		want := "error: no dagster-oidc next to " + front + "\ninstall dagster-oidc-cached and dagster-oidc side by side (both are in the release archive)\n"
		if code != 2 || out != "" || stderr != want {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and what to install", code, out, stderr)
		}
	})
	t.Run("not executable", func(t *testing.T) {
		full := filepath.Join(filepath.Dir(front), "dagster-oidc")
		if err := os.WriteFile(full, []byte("#!/bin/sh\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(full)
		out, stderr, code := runFront(t, front, nil, "version")
		if code != 1 || out != "" || stderr != "error: could not run "+full+": permission denied\n" {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and the one line troubleshooting.md shows", code, out, stderr)
		}
	})
	t.Run("present", func(t *testing.T) {
		// A stand-in full binary that shows what it was given.
		full := filepath.Join(filepath.Dir(front), "dagster-oidc")
		script := "#!/bin/sh\necho \"args: $*\"\necho \"record: $DAGSTER_OIDC_WARM_RECORD\"\nexit 7\n"
		if err := os.WriteFile(full, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(full)
		out, _, code := runFront(t, front, []string{"DAGSTER_OIDC_WARM_RECORD=0"}, "aws", "credential-process", "--profile", "dev")
		want := "args: aws credential-process --profile dev\nrecord: 1\n"
		if code != 7 || out != want {
			t.Errorf("exit %d, stdout %q; want the full binary's exit 7 and %q", code, out, want)
		}
	})
}
