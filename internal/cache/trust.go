package cache

import (
	"errors"
	"fmt"
	"io"
)

// ErrUntrusted means a cache directory or entry could have been written by
// another local user: it is owned by someone else, writable by group or
// others, or a symbolic link where a file was expected. Such a path is never
// read: a planted AWS credentials entry or JWKS would hand the victim the
// attacker's keys (issue 15.1).
var ErrUntrusted = errors.New("untrusted cache path")

// UntrustedError names the path that failed a trust check and why.
type UntrustedError struct {
	// Path is the directory or file that was refused.
	Path string
	// Reason says what is wrong with it, e.g. "owned by uid 65534, not by you (uid 1000)".
	Reason string
}

// Error is one line naming the path.
func (e *UntrustedError) Error() string {
	return fmt.Sprintf("refusing cache path %s: %s; another local user could have planted it, use a directory only you can write (chown/chmod 700 it, or set DAGSTER_OIDC_CACHE_DIR)", e.Path, e.Reason)
}

// Is makes errors.Is(err, ErrUntrusted) true.
func (e *UntrustedError) Is(target error) bool { return target == ErrUntrusted }

// maxEntryBytes caps a cache file read with [ReadTrusted]; entries are a few
// KiB, a JWKS a few tens.
const maxEntryBytes = 4 << 20

// readCapped reads at most maxEntryBytes of the file at path.
func readCapped(r io.Reader, path string) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxEntryBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxEntryBytes {
		return nil, corruptf("%s is larger than %d bytes", path, maxEntryBytes)
	}
	return raw, nil
}
