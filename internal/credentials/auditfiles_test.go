package credentials

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
)

// TestAuditCommandsRefuseAMissingTrail: no audit file, a named file that is
// not there, and a verify without an audit key each give one line naming
// what is missing; none is a denial (exit 4 means a broken chain).
func TestAuditCommandsRefuseAMissingTrail(t *testing.T) {
	state, home, cacheDir := t.TempDir(), t.TempDir(), t.TempDir()
	_, err := AuditFiles(config.Audit{}, state, home)
	if want := "no audit file at " + AuditPath(config.Audit{}, state, home); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("AuditFiles: %v, want %q…", err, want)
	}
	missing := filepath.Join(state, "gone.jsonl")
	if err := AuditTail(&bytes.Buffer{}, []string{missing}, 20, "", cacheDir); err == nil || err.Error() != "no audit file at "+missing {
		t.Errorf("AuditTail: %v", err)
	}
	_, _, err = AuditVerify(AuditVerifyRequest{Files: []string{missing}, CacheDir: cacheDir})
	if err == nil || apperr.ExitCode(err) == 4 {
		t.Errorf("AuditVerify without a key: %v (exit %d), want a plain error", err, apperr.ExitCode(err))
	}
}
