package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// writeSamples logs the sample events to a FileSink at path.
func writeSamples(t *testing.T, path string, maxBytes int64) {
	t.Helper()
	fs, err := NewFileSink(path, maxBytes)
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

	n, err := Verify(bytes.NewReader(got))
	if err != nil || n != 4 {
		t.Errorf("Verify = %d, %v; want 4 intact lines", n, err)
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
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n, err := Verify(f); err != nil || n != 8 {
		t.Errorf("Verify = %d, %v; want 8 intact lines", n, err)
	}
}

func TestFileSinkTightensExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFileSink(path, 0); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
}

func TestFileSinkRejectsNonObjects(t *testing.T) {
	fs, err := NewFileSink(filepath.Join(t.TempDir(), "audit.jsonl"), 0)
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

func TestRotationKeepsTheChain(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	fs, err := NewFileSink(path, 1000)
	if err != nil {
		t.Fatal(err)
	}
	fs.Backups = 3
	for i := range 40 {
		if err := fs.Write(fmt.Appendf(nil, `{"v":1,"event":"refresh","n":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	files := []string{path + ".3", path + ".2", path + ".1", path} // oldest first
	total := 0
	for _, p := range files {
		b := readChain(t, p)
		if int64(len(b)) > 1000 {
			t.Errorf("%s has %d bytes, over the limit", p, len(b))
		}
		n, err := Verify(bytes.NewReader(b))
		if err != nil {
			t.Errorf("Verify(%s): %v", p, err)
		}
		total += n
	}
	if _, err := os.Stat(path + ".4"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a fourth backup exists: %v", err)
	}
	n, err := Verify(bytes.NewReader(readChain(t, files...)))
	if err != nil || n != total {
		t.Errorf("Verify across files = %d, %v; want %d", n, err, total)
	}
	// The newest lines are all there, the last one is the last written.
	last := lastLine(readChain(t, path))
	if !strings.Contains(last, `"n":39`) {
		t.Errorf("last line %s", last)
	}
	// Files out of order break the chain at the seam.
	if _, err := Verify(bytes.NewReader(readChain(t, path+".2", path+".3", path+".1", path))); err == nil {
		t.Error("Verify accepted rotated files out of order")
	}
}

func TestFirstWriteAfterRotationByAnotherProcess(t *testing.T) {
	// The live file is gone but path.1 exists: the new file continues it.
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	fs, err := NewFileSink(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Write([]byte(`{"v":1,"event":"login"}`)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := fs.Write([]byte(`{"v":1,"event":"refresh"}`)); err != nil {
		t.Fatal(err)
	}
	if n, err := Verify(bytes.NewReader(readChain(t, path+".1", path))); err != nil || n != 2 {
		t.Errorf("Verify = %d, %v", n, err)
	}
}

func TestConcurrentWritersShareOneChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	// Separate sinks stand for separate processes: each has its own lock
	// file handle, and flock locks exclude each other across handles.
	var wg sync.WaitGroup
	for w := range 4 {
		fs, err := NewFileSink(path, 0)
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
	if n, err := Verify(bytes.NewReader(readChain(t, path))); err != nil || n != 100 {
		t.Errorf("Verify = %d, %v; want 100", n, err)
	}
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return lines[len(lines)-1]
}

func TestVerifyNamesTheFirstBadLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	fs, err := NewFileSink(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 6; i++ {
		if err := fs.Write([]byte(`{"v":1,"event":"refresh","n":` + strconv.Itoa(i) + `}`)); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.SplitAfter(string(readChain(t, path)), "\n")
	lines = lines[:len(lines)-1] // the empty string after the final newline
	join := func(ls ...string) string { return strings.Join(ls, "") }

	tests := []struct {
		name     string
		log      string
		wantLine int // 0: intact
	}{
		{"intact", join(lines...), 0},
		{"empty", "", 0},
		{"edited line 3", join(lines[0], lines[1], strings.Replace(lines[2], `"n":3`, `"n":33`, 1), lines[3], lines[4], lines[5]), 4},
		{"deleted line 3", join(lines[0], lines[1], lines[3], lines[4], lines[5]), 3},
		{"swapped lines 3 and 4", join(lines[0], lines[1], lines[3], lines[2], lines[4], lines[5]), 3},
		{"inserted line", join(lines[0], lines[1], `{"v":1,"event":"login","prev":"`+GenesisPrev+`"}`+"\n", lines[2]), 3},
		{"garbage line", join(lines[0], "not json\n", lines[1]), 2},
		{"missing prev", join(lines[0], `{"v":1,"event":"login"}`+"\n"), 2},
		{"malformed prev", join(lines[0], `{"v":1,"event":"login","prev":"abc"}`+"\n"), 2},
		{"rotated file alone", join(lines[3:]...), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Verify(strings.NewReader(tt.log))
			if tt.wantLine == 0 {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify = %d, %v; want a *VerifyError", n, err)
			}
			if ve.Line != tt.wantLine || n != tt.wantLine-1 {
				t.Errorf("Verify = %d, %v; want bad line %d", n, err, tt.wantLine)
			}
			if !strings.HasPrefix(err.Error(), "line "+strconv.Itoa(tt.wantLine)+":") {
				t.Errorf("message %q does not name line %d", err, tt.wantLine)
			}
		})
	}
}

func TestVerifyReadError(t *testing.T) {
	_, err := Verify(io.MultiReader(strings.NewReader(`{"prev":"`+GenesisPrev+`"}`+"\n"), errReader{}))
	var ve *VerifyError
	if err == nil || errors.As(err, &ve) {
		t.Errorf("Verify = %v, want a read error", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	writeSamples(t, path, 0)
	log := readChain(t, path)
	for _, n := range []int{0, 2} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			var out bytes.Buffer
			if err := Tail(&out, bytes.NewReader(append(append([]byte(nil), log...), "garbage\n"...)), n); err != nil {
				t.Fatal(err)
			}
			golden(t, fmt.Sprintf("tail_%d.golden", n), out.Bytes())
		})
	}
}
