package credentials

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/audit"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
)

// AuditFiles returns the audit file a configures (under stateDir or home)
// preceded by its rotated files, oldest first.
func AuditFiles(a config.Audit, stateDir, home string) ([]string, error) {
	path := AuditPath(a, stateDir, home)
	files, err := audit.TrailFiles(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no audit file at %s (nothing was logged yet, or audit.file points elsewhere)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("could not open the audit file: %w", err)
	}
	return files, nil
}

// AuditTail writes the last n events (0: all) of the newest of files, one
// readable line each; with matchSession, only the events of that STS role
// session name from all of files, found by its keyed hash (the audit key
// under cacheDir).
func AuditTail(w io.Writer, files []string, n int, matchSession, cacheDir string) error {
	session := ""
	if matchSession != "" {
		key, err := audit.InstallationKey(cacheDir, false)
		if err != nil {
			return err
		}
		session = audit.SessionHash(key, matchSession)
	} else {
		files = files[len(files)-1:]
	}
	r, closeAll, err := openAll(files)
	if err != nil {
		return err
	}
	defer closeAll()
	return audit.Tail(w, io.MultiReader(r...), n, session)
}

// AuditVerifyRequest says which trail `audit verify` checks.
type AuditVerifyRequest struct {
	// Files are the trail, oldest first; Configured says they are the
	// configured file and its rotations, whose retention is checked too.
	Files      []string
	Configured bool
	// Checkpoints is a file of syslog checkpoints to compare with ("": none).
	Checkpoints string
	CacheDir    string
}

// AuditVerify checks the keyed hash chain of q.Files (and the checkpoints)
// with the audit key under q.CacheDir. A broken chain is a denial (exit 4);
// it also returns the number of checkpoints read.
func AuditVerify(q AuditVerifyRequest) (audit.Report, int, error) {
	key, err := audit.InstallationKey(q.CacheDir, false)
	if err != nil {
		return audit.Report{}, 0, err
	}
	var cps []audit.Checkpoint
	if q.Checkpoints != "" {
		cf, err := os.Open(q.Checkpoints)
		if err != nil {
			return audit.Report{}, 0, fmt.Errorf("could not read the checkpoints: %w", err)
		}
		cps, err = audit.ReadCheckpoints(cf)
		cf.Close()
		if err != nil {
			return audit.Report{}, 0, err
		}
	}
	r, closeAll, err := openAll(q.Files)
	if err != nil {
		return audit.Report{}, 0, err
	}
	defer closeAll()
	files := make([]audit.TrailFile, len(q.Files))
	for i, p := range q.Files {
		files[i] = audit.TrailFile{Name: p, R: r[i]}
	}
	rep, err := audit.Verify(key, files, cps)
	if err == nil && q.Configured {
		err = audit.CheckRetention(q.Files, rep, audit.DefaultBackups)
	}
	if err != nil {
		return rep, len(cps), apperr.Denied(err, "keep the files for investigation; see docs/audit.md for what each finding means")
	}
	return rep, len(cps), nil
}

// openAll opens paths; closeAll closes those opened.
func openAll(paths []string) (readers []io.Reader, closeAll func(), err error) {
	var files []*os.File
	closeAll = func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, p := range paths {
		file, err := os.Open(p)
		if err != nil {
			closeAll()
			if errors.Is(err, os.ErrNotExist) {
				return nil, nil, fmt.Errorf("no audit file at %s", p)
			}
			return nil, nil, fmt.Errorf("could not open the audit file: %w", err)
		}
		files = append(files, file)
		readers = append(readers, file)
	}
	return readers, closeAll, nil
}
