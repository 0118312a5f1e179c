package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/atomicfile"
	"github.com/dagster-oidc/dagster-oidc/internal/readfile"
)

// gcpOutputFileMaxBytes is the size Google's libraries read at most.
const gcpOutputFileMaxBytes = 1 << 20

// gcpOutputFileEntry parses an output file strictly enough to tell a missing
// field from a zero one.
type gcpOutputFileEntry struct {
	Version        int    `json:"version"`
	Success        *bool  `json:"success"`
	TokenType      string `json:"token_type"`
	IDToken        string `json:"id_token"`
	ExpirationTime int64  `json:"expiration_time"`
}

// ReadGCPOutputFile reads the executable's cache file named by
// GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE. It reports usable when the file holds a
// successful response that stays valid for at least minRemaining after now.
// A missing or empty file and a success:false entry are not usable and no
// error; a malformed file is an error (Google's libraries fail on it too
// without running the executable, so the caller should overwrite it).
func ReadGCPOutputFile(path string, now time.Time, minRemaining time.Duration) (*GCPExecutableResult, bool, error) {
	if path == "" {
		return nil, false, nil
	}
	// A named pipe there would hang the executable, and Google's library
	// with it: readfile refuses anything but a regular file at once.
	data, err := readfile.Regular(path, gcpOutputFileMaxBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if errors.Is(err, readfile.ErrTooLarge) {
		return nil, false, fmt.Errorf("the gcp output file %s exceeds %d bytes", path, gcpOutputFileMaxBytes)
	}
	if err != nil {
		return nil, false, fmt.Errorf("could not read the gcp output file: %w", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, false, nil
	}
	var e gcpOutputFileEntry
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, false, fmt.Errorf("could not parse the gcp output file %s: %w", path, err)
	}
	if e.Success != nil && !*e.Success {
		return nil, false, nil
	}
	switch {
	case e.Version != 1:
		return nil, false, fmt.Errorf("the gcp output file %s has version %d, want 1", path, e.Version)
	case e.Success == nil:
		return nil, false, fmt.Errorf("the gcp output file %s has no success field", path)
	case e.TokenType != GCPTokenTypeIDToken && e.TokenType != GCPTokenTypeJWT:
		return nil, false, fmt.Errorf("the gcp output file %s has unsupported token type %q", path, e.TokenType)
	case e.IDToken == "":
		return nil, false, fmt.Errorf("the gcp output file %s has no id_token", path)
	case e.ExpirationTime == 0:
		return nil, false, fmt.Errorf("the gcp output file %s has no expiration_time", path)
	}
	r := &GCPExecutableResult{IDToken: e.IDToken, Expiry: time.Unix(e.ExpirationTime, 0), TokenType: e.TokenType}
	return r, r.Expiry.Sub(now) >= minRemaining, nil
}

// WriteGCPOutputFile stores r as the executable's cache file: the same JSON
// as GCPExecutable, mode 0600, written to a temporary file and renamed so
// that a concurrent reader never sees half a document. Missing parent
// directories are created with mode 0700.
func WriteGCPOutputFile(path string, r GCPExecutableResult) error {
	resp, err := gcpResponseFor(r)
	if err != nil {
		return fmt.Errorf("could not write the gcp output file: %w", err)
	}
	var buf bytes.Buffer
	if err := gcpWriteJSON(&buf, resp); err != nil {
		return fmt.Errorf("could not write the gcp output file: %w", err)
	}
	if err := atomicfile.Write(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("could not write the gcp output file: %w", err)
	}
	return nil
}
