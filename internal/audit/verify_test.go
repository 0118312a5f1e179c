package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

// chainOf writes n refresh events to a fresh trail and returns its lines,
// each with its newline; line 1 is the genesis record.
func chainOf(t *testing.T, n int, o FileSinkOptions) (string, []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	if o.Key == nil {
		o.Key = testKey()
	}
	o.Clock = clock.Fake(testNow)
	fs, err := NewFileSink(path, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if err := fs.Write([]byte(`{"v":2,"event":"refresh","n":` + strconv.Itoa(i) + `}`)); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.SplitAfter(string(readChain(t, path)), "\n")
	return path, lines[:len(lines)-1] // the empty string after the final newline
}

func verifyString(log string, cps ...Checkpoint) (Report, error) {
	return Verify(testKey(), []TrailFile{{Name: "audit.jsonl", R: strings.NewReader(log)}}, cps)
}

// wantBadLine checks that err is a *VerifyError naming line and saying
// something containing reason.
func wantBadLine(t *testing.T, err error, line int, reason string) {
	t.Helper()
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("Verify = %v; want a *VerifyError", err)
	}
	if ve.Line != line || !strings.Contains(ve.Reason, reason) {
		t.Errorf("Verify = %v; want line %d: …%s…", err, line, reason)
	}
}

// Issue 15.3: removing the first line of a trail passed verification.
func TestIssue15AuditVerifyFailsWithoutFirstLine(t *testing.T) {
	_, lines := chainOf(t, 4, FileSinkOptions{})
	if !strings.Contains(lines[0], `"event":"audit_genesis"`) {
		t.Fatalf("first line is not the genesis record: %s", lines[0])
	}
	for k := 1; k <= 3; k++ {
		t.Run(fmt.Sprintf("first %d removed", k), func(t *testing.T) {
			_, err := verifyString(strings.Join(lines[k:], ""))
			wantBadLine(t, err, 1, "does not start with its genesis or continuation record")
		})
	}
}

// Issue 15.3: a rotated trail whose continuation record was removed.
func TestIssue15AuditVerifyFailsWithoutContinuationRecord(t *testing.T) {
	files := rotatedTrail(t)
	live := readChain(t, files[3])
	first, rest, _ := bytes.Cut(live, []byte("\n"))
	if !bytes.Contains(first, []byte(`"event":"audit_continued"`)) {
		t.Fatalf("the live file starts with %s", first)
	}
	trail := []TrailFile{
		{Name: "audit.jsonl.1", R: bytes.NewReader(readChain(t, files[2]))},
		{Name: "audit.jsonl", R: bytes.NewReader(rest)},
	}
	_, err := Verify(testKey(), trail, nil)
	wantBadLine(t, err, 1, "does not start with a continuation record of audit.jsonl.1")
	// Alone, too: a file must start with its genesis or continuation record.
	_, err = verifyString(string(rest))
	wantBadLine(t, err, 1, "does not start with its genesis or continuation record")
}

// Issue 15.3: an edited line, anywhere, the last one included; and a
// trail rewritten by someone without the key (recomputing the hashes).
func TestIssue15AuditVerifyFailsOnEditedLine(t *testing.T) {
	_, lines := chainOf(t, 5, FileSinkOptions{})
	for k := 1; k < len(lines); k++ {
		t.Run(fmt.Sprintf("line %d", k+1), func(t *testing.T) {
			edited := append([]string(nil), lines...)
			edited[k] = strings.Replace(edited[k], `"event":"refresh"`, `"event":"login"`, 1)
			_, err := verifyString(strings.Join(edited, ""))
			wantBadLine(t, err, k+1, "its MAC does not match")
		})
	}
	t.Run("another key", func(t *testing.T) {
		other := bytes.Repeat([]byte{7}, 32)
		_, lines := chainOf(t, 2, FileSinkOptions{Key: other})
		_, err := verifyString(strings.Join(lines, ""))
		wantBadLine(t, err, 1, "its MAC does not match")
	})
	t.Run("rewritten with unkeyed hashes", func(t *testing.T) {
		// What passed before: recompute every link as SHA-256.
		var b strings.Builder
		prev := GenesisPrev
		for _, l := range lines[1:] {
			l = strings.Replace(l, `"event":"refresh"`, `"event":"login"`, 1)
			tr, ok := parseTrailer([]byte(strings.TrimSuffix(l, "\n")))
			if !ok {
				t.Fatal("no trailer")
			}
			body := strings.Replace(string(tr.body), tr.prev, prev, 1)
			sum := sha256.Sum256([]byte(body))
			mac := hex.EncodeToString(sum[:])
			b.WriteString(strings.TrimSuffix(body, "}") + `,"mac":"` + mac + "\"}\n")
			prev = mac
		}
		_, err := verifyString(b.String())
		wantBadLine(t, err, 1, "its MAC does not match")
	})
}

func TestVerifyNamesTheFirstBadLine(t *testing.T) {
	_, lines := chainOf(t, 6, FileSinkOptions{})
	join := func(ls ...string) string { return strings.Join(ls, "") }
	genesisAgain := lines[0]
	tests := []struct {
		name     string
		log      string
		wantLine int // 0: intact
		reason   string
	}{
		{"intact", join(lines...), 0, ""},
		{"empty", "", 0, ""},
		{"deleted line 3", join(lines[0], lines[1], lines[3], lines[4]), 3, "does not follow line 2"},
		{"swapped lines 3 and 4", join(lines[0], lines[1], lines[3], lines[2], lines[4]), 3, "does not follow line 2"},
		{"line repeated", join(lines[0], lines[1], lines[1], lines[2]), 3, "does not follow line 2"},
		{"genesis record again", join(lines[0], lines[1], genesisAgain), 3, "an audit_genesis record inside a file"},
		{"garbage line", join(lines[0], "not json\n", lines[1]), 2, "not a JSON object"},
		{"no trailer", join(lines[0], `{"v":2,"event":"login"}`+"\n"), 2, `no valid "seq", "prev" and "mac"`},
		{"rotated file alone", join(lines[3:]...), 1, "does not start with its genesis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := verifyString(tt.log)
			if tt.wantLine == 0 {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if want := strings.Count(tt.log, "\n"); rep.Lines != want {
					t.Errorf("Lines = %d, want %d", rep.Lines, want)
				}
				return
			}
			wantBadLine(t, err, tt.wantLine, tt.reason)
			if !strings.HasPrefix(err.Error(), "audit.jsonl: line "+strconv.Itoa(tt.wantLine)+":") {
				t.Errorf("message %q does not name the file and line %d", err, tt.wantLine)
			}
		})
	}
}

// checkpointSink collects checkpoint records.
type checkpointSink struct{ lines []string }

func (s *checkpointSink) Name() string { return "checkpoints" }
func (s *checkpointSink) Write(line []byte) error {
	s.lines = append(s.lines, string(line))
	return nil
}
func (s *checkpointSink) Close() error { return nil }

func (s *checkpointSink) read(t *testing.T) []Checkpoint {
	t.Helper()
	cps, err := ReadCheckpoints(strings.NewReader(strings.Join(s.lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	return cps
}

func TestCheckpointsAreSentEveryNLines(t *testing.T) {
	cs := &checkpointSink{}
	_, lines := chainOf(t, 9, FileSinkOptions{Checkpoints: cs, CheckpointEvery: 4})
	// Lines 4 and 8 of the chain (the genesis record is line 1).
	want := []string{
		`{"v":2,"time":"2026-03-14T15:09:26.535Z","event":"audit_checkpoint","seq":4,"head":"` + macOf(t, lines[3]) + `"}`,
		`{"v":2,"time":"2026-03-14T15:09:26.535Z","event":"audit_checkpoint","seq":8,"head":"` + macOf(t, lines[7]) + `"}`,
	}
	if strings.Join(cs.lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("checkpoints\n%s\nwant\n%s", strings.Join(cs.lines, "\n"), strings.Join(want, "\n"))
	}
	rep, err := verifyString(strings.Join(lines, ""), cs.read(t)...)
	if err != nil || rep.Checkpoints != 2 {
		t.Errorf("Verify = %+v, %v; want both checkpoints matched", rep, err)
	}
}

func macOf(t *testing.T, line string) string {
	t.Helper()
	tr, ok := parseTrailer([]byte(strings.TrimSuffix(line, "\n")))
	if !ok {
		t.Fatalf("no trailer: %s", line)
	}
	return tr.mac
}

// Issue 15.3: tail truncation is detected, but only against a checkpoint.
func TestIssue15AuditTailTruncationDetectedOnlyAgainstCheckpoint(t *testing.T) {
	cs := &checkpointSink{}
	_, lines := chainOf(t, 7, FileSinkOptions{Checkpoints: cs, CheckpointEvery: 4})
	cut := strings.Join(lines[:6], "") // lines 7 and 8 removed; checkpoint at 8
	if _, err := verifyString(cut); err != nil {
		t.Errorf("without checkpoints a cut tail is not detectable, yet Verify said %v", err)
	}
	_, err := verifyString(cut, cs.read(t)...)
	wantBadLine(t, err, 0, "the trail ends at chain line 6, but a checkpoint sent at 2026-03-14T15:09:26.535Z records line 8")
	// Lines after the last checkpoint can be cut without a trace.
	if _, err := verifyString(strings.Join(lines[:8], ""), cs.read(t)...); err != nil {
		t.Errorf("cut after the last checkpoint: %v", err)
	}
}

// Issue 15.3: someone holding the key can rewrite the whole chain; only a
// checkpoint sent before tells.
func TestIssue15AuditRewriteWithKeyDetectedOnlyAgainstCheckpoint(t *testing.T) {
	cs := &checkpointSink{}
	_, lines := chainOf(t, 7, FileSinkOptions{Checkpoints: cs, CheckpointEvery: 4})
	// Rewrite with the key: the same events, line 3 changed.
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	fs, err := NewFileSink(path, FileSinkOptions{Key: testKey(), Clock: clock.Fake(testNow)})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range lines[1:] {
		body := string(mustTrailer(t, l).body)
		body = body[:strings.Index(body, `,"seq":`)] + "}"
		if i == 1 {
			body = strings.Replace(body, `"event":"refresh"`, `"event":"login"`, 1)
		}
		if err := fs.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	forged := string(readChain(t, path))
	if _, err := verifyString(forged); err != nil {
		t.Errorf("a rewrite with the key passes on its own, yet Verify said %v", err)
	}
	_, err = verifyString(forged, cs.read(t)...)
	wantBadLine(t, err, 4, "differs from the checkpoint of line 4")
}

func mustTrailer(t *testing.T, line string) trailer {
	t.Helper()
	tr, ok := parseTrailer([]byte(strings.TrimSuffix(line, "\n")))
	if !ok {
		t.Fatalf("no trailer: %s", line)
	}
	return tr
}

// Not detected by the chain: whole rotated files dropped from the old end
// (by rotation, or by someone who also renames the rest into a full set)
// look the same; checkpoints older than the kept lines cannot be compared.
func TestDroppedOldestFilesLookLikeRotation(t *testing.T) {
	cs := &checkpointSink{}
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	fs, err := NewFileSink(path, FileSinkOptions{Key: testKey(), MaxBytes: 1000, Backups: 3, Checkpoints: cs, CheckpointEvery: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if err := fs.Write(fmt.Appendf(nil, `{"v":2,"event":"refresh","n":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	files := []TrailFile{{Name: "audit.jsonl.1", R: bytes.NewReader(readChain(t, path+".1"))}, {Name: "audit.jsonl", R: bytes.NewReader(readChain(t, path))}}
	rep, err := Verify(testKey(), files, cs.read(t))
	if err != nil || rep.Rotated == 0 || rep.Checkpoints == 0 {
		t.Errorf("Verify = %+v, %v; want intact, some checkpoints compared and some older than the kept lines", rep, err)
	}
}

// A trail of an older dagster-oidc: the sink leaves it as path.1 and starts
// a keyed trail; verify says in one line what it is and what to do.
func TestUnkeyedTrailIsSetAsideAndNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	old := `{"v":1,"time":"2026-03-14T15:09:26.535Z","event":"login","outcome":"ok","prev":"` + GenesisPrev + `"}` + "\n"
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	fs, err := NewFileSink(path, FileSinkOptions{Key: testKey()})
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Write([]byte(`{"v":2,"event":"refresh"}`)); err != nil {
		t.Fatal(err)
	}
	if got := string(readChain(t, path+".1")); got != old {
		t.Errorf("the old trail changed:\n%s", got)
	}
	if rep, err := verifyFiles(t, path); err != nil || !rep.Genesis || rep.Lines != 2 {
		t.Errorf("new trail: %+v, %v", rep, err)
	}
	_, err = verifyFiles(t, path+".1", path)
	wantBadLine(t, err, 1, "before the keyed chain (schema 1): it cannot be verified; move it out of the trail")
	var out bytes.Buffer
	if err := Tail(&out, strings.NewReader(old), 0, ""); err != nil || !strings.Contains(out.String(), "login ok") {
		t.Errorf("tail of the old trail: %q, %v", out.String(), err)
	}
}

func TestVerifyNeedsTheKey(t *testing.T) {
	if _, err := Verify(nil, nil, nil); !errors.Is(err, ErrNoKey) {
		t.Errorf("Verify without a key = %v, want ErrNoKey", err)
	}
	if _, err := NewFileSink(filepath.Join(t.TempDir(), "a.jsonl"), FileSinkOptions{}); !errors.Is(err, ErrNoKey) {
		t.Errorf("NewFileSink without a key = %v, want ErrNoKey", err)
	}
}

func TestVerifyReadError(t *testing.T) {
	_, err := Verify(testKey(), []TrailFile{{Name: "x", R: io.MultiReader(strings.NewReader("{}\n"[:0]), errReader{})}}, nil)
	var ve *VerifyError
	if err == nil || errors.As(err, &ve) {
		t.Errorf("Verify = %v, want a read error", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadCheckpointsSkipsOtherLines(t *testing.T) {
	head := strings.Repeat("ab", 32)
	in := strings.Join([]string{
		`<86>1 2026-03-14T15:09:26.535000Z host dagster-oidc 42 audit_checkpoint - {"v":2,"time":"T1","event":"audit_checkpoint","seq":4,"head":"` + head + `"}`,
		`{"v":2,"time":"T2","event":"audit_checkpoint","seq":8,"head":"` + head + `"}`,
		`{"v":2,"time":"T3","event":"exchange","outcome":"ok"}`,
		`{"v":2,"event":"audit_checkpoint","seq":0,"head":"` + head + `"}`,
		`{"v":2,"event":"audit_checkpoint","seq":9,"head":"short"}`,
		`garbage {`,
	}, "\n")
	cps, err := ReadCheckpoints(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) != 2 || cps[0] != (Checkpoint{Time: "T1", Seq: 4, Head: head}) || cps[1].Seq != 8 {
		t.Errorf("checkpoints %+v", cps)
	}
}

func TestParseTrailerRejectsLookalikes(t *testing.T) {
	mac := strings.Repeat("a", 64)
	for _, line := range []string{
		`{}`,
		`{"seq":01,"prev":"` + mac + `","mac":"` + mac + `"}`,
		`{"xseq":1,"prev":"` + mac + `","mac":"` + mac + `"}`,
		`{"a":1,"seq":1,"prev":"` + mac + `","mac":"` + strings.Repeat("A", 64) + `"}`,
		`{"a":1,"seq":,"prev":"` + mac + `","mac":"` + mac + `"}`,
	} {
		if _, ok := parseTrailer([]byte(line)); ok {
			t.Errorf("parseTrailer accepted %s", line)
		}
	}
	line, _ := chainLine([]byte("k"), []byte(`{"a":1}`), 12, mac)
	tr, ok := parseTrailer(line)
	if !ok || tr.seq != 12 || tr.prev != mac || string(tr.body) != `{"a":1,"seq":12,"prev":"`+mac+`"}` {
		t.Errorf("parseTrailer(%s) = %+v, %v", line, tr, ok)
	}
}

// The live file removed: the next write continues the rotated file, which
// verifies on its own; the checkpoints of the lost lines tell.
func TestLiveFileRemovedDetectedOnlyAgainstCheckpoint(t *testing.T) {
	cs := &checkpointSink{}
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	fs, err := NewFileSink(path, FileSinkOptions{Key: testKey(), MaxBytes: 1000, Checkpoints: cs, CheckpointEvery: 1})
	if err != nil {
		t.Fatal(err)
	}
	write := func(n int) {
		for i := range n {
			if err := fs.Write(fmt.Appendf(nil, `{"v":2,"event":"refresh","n":%d}`, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(12) // rotates once
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	write(1)
	files := func() []TrailFile {
		return []TrailFile{{Name: "audit.jsonl.1", R: bytes.NewReader(readChain(t, path+".1"))}, {Name: "audit.jsonl", R: bytes.NewReader(readChain(t, path))}}
	}
	if _, err := Verify(testKey(), files(), nil); err != nil {
		t.Errorf("without checkpoints the removal is not detectable, yet Verify said %v", err)
	}
	// Line 2 of the new file took the place of a removed line that had a
	// checkpoint.
	_, err = Verify(testKey(), files(), cs.read(t))
	wantBadLine(t, err, 2, "differs from the checkpoint")
}

// verifyTrail is what `audit verify` does without arguments.
func verifyTrail(t *testing.T, path string, backups int) error {
	t.Helper()
	paths, err := TrailFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	files := make([]TrailFile, len(paths))
	for i, p := range paths {
		files[i] = TrailFile{Name: filepath.Base(p), R: bytes.NewReader(readChain(t, p))}
	}
	rep, err := Verify(testKey(), files, nil)
	if err != nil {
		return err
	}
	return CheckRetention(paths, rep, backups)
}

func TestVerifyTrailFindsRemovedRotatedFiles(t *testing.T) {
	t.Run("intact", func(t *testing.T) {
		files := rotatedTrail(t)
		if err := verifyTrail(t, files[3], 3); err != nil {
			t.Error(err)
		}
	})
	t.Run("one between others removed", func(t *testing.T) {
		files := rotatedTrail(t)
		if err := os.Remove(files[1]); err != nil { // audit.jsonl.2
			t.Fatal(err)
		}
		wantBadLine(t, verifyTrail(t, files[3], 3), 1, "its continuation record does not follow the last line of audit.jsonl.3")
	})
	t.Run("the oldest removed", func(t *testing.T) {
		files := rotatedTrail(t)
		if err := os.Remove(files[0]); err != nil { // audit.jsonl.3
			t.Fatal(err)
		}
		err := verifyTrail(t, files[3], 3)
		wantBadLine(t, err, 1, "is missing and rotation keeps 3 files: rotated files were removed")
		if !strings.Contains(err.Error(), "audit.jsonl.3, the file it continues") {
			t.Errorf("%v does not name audit.jsonl.3", err)
		}
	})
	t.Run("all rotated files removed", func(t *testing.T) {
		files := rotatedTrail(t)
		for _, p := range files[:3] {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
		wantBadLine(t, verifyTrail(t, files[3], 3), 1, "audit.jsonl.1, the file it continues, is missing")
	})
	t.Run("never rotated", func(t *testing.T) {
		path, _ := chainOf(t, 3, FileSinkOptions{})
		if err := verifyTrail(t, path, 3); err != nil {
			t.Error(err)
		}
	})
}

// gateSink signals when a write starts and blocks it until released.
type gateSink struct{ entered, release chan struct{} }

func (s *gateSink) Name() string { return "gate" }
func (s *gateSink) Write([]byte) error {
	s.entered <- struct{}{}
	<-s.release
	return nil
}
func (s *gateSink) Close() error { return nil }

// A stalled syslog collector must not hold the file lock that other
// processes wait for.
func TestCheckpointIsSentAfterTheFileLockIsReleased(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	gate := &gateSink{entered: make(chan struct{}), release: make(chan struct{})}
	slow, err := NewFileSink(path, FileSinkOptions{Key: testKey(), Checkpoints: gate, CheckpointEvery: 1})
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewFileSink(path, FileSinkOptions{Key: testKey()})
	if err != nil {
		t.Fatal(err)
	}
	other.LockTimeout = 500 * time.Millisecond // gives up while the lock is held
	done := make(chan error)
	go func() { done <- slow.Write([]byte(`{"v":2,"event":"login"}`)) }()
	<-gate.entered
	if err := other.Write([]byte(`{"v":2,"event":"refresh"}`)); err != nil {
		t.Errorf("another writer while a checkpoint is being sent: %v", err)
	}
	close(gate.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rep, err := verifyFiles(t, path); err != nil || rep.Lines != 3 {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
}
