package audit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

// writeSamples logs the sample events to a FileSink at path.
func writeSamples(t *testing.T, path string, maxBytes int64) {
	t.Helper()
	fs, err := NewFileSink(path, FileSinkOptions{Key: testKey(), MaxBytes: maxBytes, Clock: clock.Fake(testNow)})
	if err != nil {
		t.Fatal(err)
	}
	l := newTestLogger([]Sink{fs}, func(name string, err error) { t.Errorf("%s: %v", name, err) })
	for _, e := range sampleEvents(l) {
		l.Log(e)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFileSinkGoldenChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "audit.jsonl")
	writeSamples(t, path, 0)
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "chain.golden", got)

	rep, err := verifyFiles(t, path)
	if err != nil || rep.Lines != 5 || !rep.Genesis || rep.LastSeq != 5 {
		t.Errorf("Verify = %+v, %v; want 5 intact lines from the genesis record", rep, err)
	}
	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{path, 0o600}, {filepath.Dir(path), 0o700}, {path + ".lock", 0o600}} {
		st, err := os.Stat(p.path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != p.mode {
			t.Errorf("%s mode %v, want %v", p.path, st.Mode().Perm(), p.mode)
		}
	}
}

func TestFileSinkContinuesChainAcrossOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	writeSamples(t, path, 0)
	writeSamples(t, path, 0) // a second process run appends
	if rep, err := verifyFiles(t, path); err != nil || rep.Lines != 9 {
		t.Errorf("Verify = %+v, %v; want 9 intact lines (one genesis record)", rep, err)
	}
}

func TestFileSinkTightensExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFileSink(path, FileSinkOptions{Key: testKey()}); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
}

func TestFileSinkRejectsNonObjects(t *testing.T) {
	fs, err := NewFileSink(filepath.Join(t.TempDir(), "audit.jsonl"), FileSinkOptions{Key: testKey()})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"", "x", "[1]", "{\"a\":1}\n{\"b\":2}"} {
		if err := fs.Write([]byte(line)); err == nil {
			t.Errorf("Write(%q) succeeded", line)
		}
	}
}

func readChain(t *testing.T, paths ...string) []byte {
	t.Helper()
	var all []byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// verifyFiles runs Verify on paths, oldest first, with testKey.
func verifyFiles(t *testing.T, paths ...string) (Report, error) {
	t.Helper()
	var files []TrailFile
	for _, p := range paths {
		files = append(files, TrailFile{Name: filepath.Base(p), R: bytes.NewReader(readChain(t, p))})
	}
	return Verify(testKey(), files, nil)
}

// rotatedTrail writes 40 lines to a sink rotating at 1000 bytes with 3
// backups and returns the paths of its files, oldest first.
func rotatedTrail(t *testing.T) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	fs, err := NewFileSink(path, FileSinkOptions{Key: testKey(), MaxBytes: 1000, Backups: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if err := fs.Write(fmt.Appendf(nil, `{"v":2,"event":"refresh","n":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path + ".4"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a fourth backup exists: %v", err)
	}
	return []string{path + ".3", path + ".2", path + ".1", path}
}

func TestRotationKeepsTheChain(t *testing.T) {
	files := rotatedTrail(t)
	for _, p := range files {
		b := readChain(t, p)
		if int64(len(b)) > 1000 {
			t.Errorf("%s has %d bytes, over the limit", p, len(b))
		}
		if !strings.HasPrefix(string(b), `{"v":2,"time":`) || !strings.Contains(strings.SplitN(string(b), "\n", 2)[0], `"event":"audit_continued"`) {
			t.Errorf("%s does not start with a continuation record:\n%s", p, b)
		}
		if _, err := verifyFiles(t, p); err != nil {
			t.Errorf("Verify(%s): %v", p, err)
		}
	}
	rep, err := verifyFiles(t, files...)
	if err != nil || rep.Genesis || rep.FirstSeq < 2 || rep.LastSeq != rep.FirstSeq+int64(rep.Lines)-1 {
		t.Errorf("Verify across files = %+v, %v; want a continuous chain whose start was rotated away", rep, err)
	}
	// The newest lines are all there, the last one is the last written.
	last := lastLineOf(readChain(t, files[3]))
	if !strings.Contains(last, `"n":39`) {
		t.Errorf("last line %s", last)
	}
	// Files out of order or missing break the chain at the seam.
	for name, order := range map[string][]string{
		"out of order":   {files[1], files[0], files[2], files[3]},
		"a file missing": {files[0], files[2], files[3]},
	} {
		if _, err := verifyFiles(t, order...); err == nil {
			t.Errorf("%s: Verify accepted the rotated files", name)
		}
	}
}

func TestFirstWriteAfterRotationByAnotherProcess(t *testing.T) {
	// The live file is gone but path.1 exists: the new file continues it.
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	fs, err := NewFileSink(path, FileSinkOptions{Key: testKey()})
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Write([]byte(`{"v":2,"event":"login"}`)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := fs.Write([]byte(`{"v":2,"event":"refresh"}`)); err != nil {
		t.Fatal(err)
	}
	if rep, err := verifyFiles(t, path+".1", path); err != nil || rep.Lines != 4 || !rep.Genesis {
		t.Errorf("Verify = %+v, %v; want genesis, login, continuation, refresh", rep, err)
	}
}

func TestConcurrentWritersShareOneChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	// Separate sinks stand for separate processes: each has its own lock
	// file handle, and flock locks exclude each other across handles.
	var wg sync.WaitGroup
	for w := range 4 {
		fs, err := NewFileSink(path, FileSinkOptions{Key: testKey()})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if err := fs.Write(fmt.Appendf(nil, `{"v":1,"event":"exchange","w":%d,"i":%d}`, w, i)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if rep, err := verifyFiles(t, path); err != nil || rep.Lines != 101 {
		t.Errorf("Verify = %+v, %v; want 100 lines after the genesis record", rep, err)
	}
}

func lastLineOf(b []byte) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return lines[len(lines)-1]
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	writeSamples(t, path, 0)
	log := readChain(t, path)
	for _, n := range []int{0, 2} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			var out bytes.Buffer
			if err := Tail(&out, bytes.NewReader(append(append([]byte(nil), log...), "garbage\n"...)), n, ""); err != nil {
				t.Fatal(err)
			}
			golden(t, fmt.Sprintf("tail_%d.golden", n), out.Bytes())
		})
	}
}
