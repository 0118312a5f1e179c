// Package secretfile reads an OIDC client secret from the file a profile's
// client_secret_file names, refusing one that other users can read, and
// reports its age so stale secrets can be rotated (issue 15, "Also").
package secretfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// maxSize caps the file: a client secret is tens of bytes.
const maxSize = 64 << 10

// Info describes a secret file without its content.
type Info struct {
	// Path is the file as configured.
	Path string
	// ModTime is its last modification, taken as when the secret was set.
	ModTime time.Time
}

// Age is how old the secret is at now.
func (i Info) Age(now time.Time) time.Duration { return now.Sub(i.ModTime) }

// Stale reports whether the secret is older than maxAge (0 disables it).
func (i Info) Stale(now time.Time, maxAge time.Duration) bool {
	return maxAge > 0 && i.Age(now) > maxAge
}

// Describe is the age for `status` and `config validate`, e.g. "12 days
// old", with "older than client_secret_max_age 2160h0m0s: rotate it" when
// stale.
func (i Info) Describe(now time.Time, maxAge time.Duration) string {
	s := FormatAge(i.Age(now)) + " old"
	if i.Stale(now, maxAge) {
		s += fmt.Sprintf(", older than client_secret_max_age %s: rotate it", maxAge)
	}
	return s
}

// FormatAge prints an age in whole days, or hours under two days.
func FormatAge(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// ErrReadableByOthers means the file's mode lets group or others read it.
var ErrReadableByOthers = errors.New("client_secret_file is readable by group or others")

// Stat checks path's permissions and returns its Info.
func Stat(path string) (Info, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Info{}, err
	}
	if !st.Mode().IsRegular() {
		return Info{}, fmt.Errorf("client_secret_file %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o044 != 0 {
		return Info{}, fmt.Errorf("%w: %s has mode %04o; run chmod 600 %s (a Kubernetes secret volume needs defaultMode: 0400)", ErrReadableByOthers, path, st.Mode().Perm(), path)
	}
	return Info{Path: path, ModTime: st.ModTime()}, nil
}

// Read returns the trimmed secret at path and its Info, after [Stat].
func Read(path string) (string, Info, error) {
	info, err := Stat(path)
	if err != nil {
		return "", Info{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", Info{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return "", Info{}, err
	}
	if len(b) > maxSize {
		return "", Info{}, fmt.Errorf("client_secret_file %s is larger than %d bytes; it must hold only the secret", path, maxSize)
	}
	return strings.TrimSpace(string(b)), info, nil
}
