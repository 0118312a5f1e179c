package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/testutil/otheruser"
)

// TestFinding1_PlantedAWSCredentialsRefused is issue 15.1 end to end: once
// the cache directory with its AWS credentials entry belongs to another
// user (who pre-created it in a shared place), credential-process prints no
// credentials and fails with one line naming the directory.
func TestFinding1_PlantedAWSCredentialsRefused(t *testing.T) {
	otheruser.Require(t)
	e := newExecEnv(t, "")
	e.env["DAGSTER_RUN_JOB_NAME"] = execJob
	e.login("alice")
	if out, stderr, code := e.run("aws", "credential-process"); code != 0 || !strings.Contains(out, "AccessKeyId") {
		t.Fatalf("credential-process before: exit %d\n%s", code, stderr)
	}
	dir := e.env["DAGSTER_OIDC_CACHE_DIR"]
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, otheruser.UID, otheruser.UID)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, code := e.run("aws", "credential-process")
	if code != 1 || out != "" {
		t.Fatalf("credential-process on a foreign-owned cache: exit %d, stdout %q; want exit 1 and no credentials", code, out)
	}
	want := "refusing cache path " + dir + ": owned by uid 65534"
	t.Logf("stderr: %s", stderr)
	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], want) {
		t.Errorf("stderr %q: want one line with %q", stderr, want)
	}
}
