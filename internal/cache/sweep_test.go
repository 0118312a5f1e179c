package cache

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestIssue16_13_StaleTempFilesSwept: a process killed between create and
// rename leaves a .tmp-* file (it may hold a refresh token). The next
// process to take a lock in that cache directory removes such files once
// they are older than a write can take, and leaves younger ones (another
// profile's writer holds another lock), entries and other files alone.
func TestIssue16_13_StaleTempFilesSwept(t *testing.T) {
	dir := t.TempDir()
	s := FileStore{Dir: dir}
	if err := s.Set("refresh.dev", []byte(`{"refresh_token":"kept"}`)); err != nil {
		t.Fatal(err)
	}
	create := func(pattern string, age time.Duration) string {
		t.Helper()
		f, err := os.CreateTemp(dir, pattern)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(`{"refresh_token":"rt-abandoned"}`); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		mtime := time.Now().Add(-age)
		if err := os.Chtimes(f.Name(), mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return f.Name()
	}
	stale := []string{create(tempPattern, time.Hour), create(tempPattern, 2*staleTempAge)}
	young := create(tempPattern, 0)
	other := create("notes-*", time.Hour)
	staleDir := filepath.Join(dir, ".tmp-dir")
	if err := os.Mkdir(staleDir, 0o700); err != nil {
		t.Fatal(err)
	}

	unlock, err := Lock(t.Context(), dir, "lock.dev", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = unlock() }()

	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("stale %s still there (%v)", filepath.Base(p), err)
		}
	}
	for _, p := range []string{young, other, staleDir} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(p), err)
		}
	}
	if got, err := s.Get("refresh.dev"); err != nil || string(got) != `{"refresh_token":"kept"}` {
		t.Errorf("entry = %q, %v", got, err)
	}
}
