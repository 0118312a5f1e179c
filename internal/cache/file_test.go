package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestFileStorePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "cache")
	s := FileStore{Dir: dir}
	if err := s.Set("token.dev.x", []byte("secret")); err != nil {
		t.Fatalf("Set: %v", err)
	}
	assertMode(t, dir, 0o700)
	assertMode(t, s.path("token.dev.x"), 0o600)

	// An existing group/world-accessible directory is made private again.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("token.dev.x", []byte("secret2")); err != nil {
		t.Fatalf("Set: %v", err)
	}
	assertMode(t, dir, 0o700)
	assertMode(t, s.path("token.dev.x"), 0o600)
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("mode of %s = %o, want %o", path, got, want)
	}
}

func TestFileStoreNames(t *testing.T) {
	dir := t.TempDir()
	s := FileStore{Dir: dir}
	for _, tc := range []struct {
		key, want string
	}{
		{"token.dev.0123abcd", "token.dev.0123abcd.entry"},
		{"../escape", "sha256-"},
		{"a/b", "sha256-"},
		{"Token.Dev", "sha256-"}, // case-insensitive file systems
		{".hidden", "sha256-"},
		{"sha256-forged", "sha256-"},
		{"locks", "locks.entry"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			p := s.path(tc.key)
			if filepath.Dir(p) != dir {
				t.Fatalf("path %s escapes %s", p, dir)
			}
			if base := filepath.Base(p); !strings.HasPrefix(base, tc.want) {
				t.Errorf("file name %s, want prefix %s", base, tc.want)
			}
		})
	}
	if safeName("sha256-forged") == safeName("sha256-forged2") {
		t.Error("distinct keys share a file")
	}
}

func TestFileStoreCorrupt(t *testing.T) {
	s := FileStore{Dir: t.TempDir()}
	if err := s.Set("k", []byte(`{"schema":1,"kind":"token","data":{"id_token":"x"}}`)); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(s.path("k"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		content string
		reason  string
	}{
		{"empty", "", "unreadable frame"},
		{"truncated", string(good[:len(good)/2]), "unreadable frame"},
		{"garbage", "\x00\xffnot json at all", "unreadable frame"},
		{"json but not a frame", `[1,2,3]`, "unreadable frame"},
		{"future frame version", strings.Replace(string(good), `"v":1`, `"v":9`, 1), "unsupported frame version 9"},
		{"bad checksum", flipSHA(string(good)), "sha256 mismatch"},
		{"short checksum", strings.Replace(string(good), `"sha256":"`, `"sha256":"0`, 1), "malformed frame header"},
		{"data changed", strings.Replace(string(good), `"data":"ey`, `"data":"ez`, 1), "sha256 mismatch"},
		{"length changed", strings.Replace(string(good), `"len":`, `"len":1`, 1), "truncated"},
		{"claims chunks", strings.Replace(string(good), `"chunks":0`, `"chunks":2`, 1), "both inline data and chunks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(s.path("k"), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := s.Get("k")
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Get error = %v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %q does not say %q", err, tc.reason)
			}
		})
	}
}

// flipSHA changes the first hex digit of a frame's sha256.
func flipSHA(frame string) string {
	i := strings.Index(frame, `"sha256":"`) + len(`"sha256":"`)
	c := byte('0')
	if frame[i] == '0' {
		c = '1'
	}
	return frame[:i] + string(c) + frame[i+1:]
}

// failingTemp is a temporary file whose writes fail, as on a full disk.
type failingTemp struct {
	*os.File
	err error
}

func (f failingTemp) Write(p []byte) (int, error) {
	n, _ := f.File.Write(p[:len(p)/2])
	return n, &fs.PathError{Op: "write", Path: f.Name(), Err: f.err}
}

func TestFileStoreWriteFailureKeepsOldEntry(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"disk full", syscall.ENOSPC, "disk full"},
		{"read-only file system", syscall.EROFS, "directory not writable"},
		{"other", syscall.EIO, "input/output error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := FileStore{Dir: dir}
			if err := s.Set("k", []byte("old value")); err != nil {
				t.Fatal(err)
			}
			s.createTemp = func(dir, pattern string) (tempFile, error) {
				f, err := os.CreateTemp(dir, pattern)
				if err != nil {
					return nil, err
				}
				return failingTemp{f, tc.err}, nil
			}
			err := s.Set("k", []byte("new value that does not fit"))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.err) {
				t.Fatalf("Set error = %v, want one saying %q and wrapping %v", err, tc.want, tc.err)
			}
			got, err := s.Get("k")
			if err != nil || string(got) != "old value" {
				t.Errorf("after failed Set, Get = %q, %v; want the old value", got, err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("directory holds %d files after a failed write, want 1 (no temp file left)", len(entries))
			}
		})
	}
}

func TestFileStoreUnusableDir(t *testing.T) {
	parent := t.TempDir()
	blocker := filepath.Join(parent, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		dir  string
		want string
	}{
		{"no dir configured", "", "no cache directory configured"},
		{"dir is a file", blocker, "not a directory"},
		{"parent is a file", filepath.Join(blocker, "cache"), "could not create cache directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := FileStore{Dir: tc.dir}.Set("k", []byte("v"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Set error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestFileStoreClearRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	s := FileStore{Dir: dir}
	for i := range 3 {
		if err := s.Set(fmt.Sprint("k", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".tmp-123"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "locks"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.Clear(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "locks" {
		t.Errorf("after Clear the directory holds %v, want only locks/", entries)
	}
}
