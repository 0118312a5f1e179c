package audit

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// VerifyError names the first line at which a trail stops being intact.
type VerifyError struct {
	// File is the name of the file holding the line ("" for one reader).
	File string
	// Line is the 1-based line number in File.
	Line int
	// Reason says what is wrong with it.
	Reason string
}

func (e *VerifyError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("%s: line %d: %s", e.File, e.Line, e.Reason)
}

// ErrUnkeyed is the reason for a trail written before the keyed chain
// (schema 1): its unkeyed hashes can be recomputed by anyone, so it proves
// nothing.
var ErrUnkeyed = errors.New("written by a dagster-oidc before the keyed chain (schema 1): it cannot be verified; move it out of the trail (e.g. to an archive) and verify the newer files")

// TrailFile is one file of a trail.
type TrailFile struct {
	// Name labels the file in errors.
	Name string
	// R reads it.
	R io.Reader
}

// Report describes a verified trail.
type Report struct {
	// Lines is the number of intact lines read.
	Lines int
	// FirstSeq and LastSeq are the chain positions of the first and last
	// line (FirstSeq > 1: the start was rotated away).
	FirstSeq, LastSeq int64
	// Genesis is true when the trail starts with its genesis record.
	Genesis bool
	// Checkpoints is the number of checkpoints compared with a line;
	// Rotated the number older than the oldest line kept.
	Checkpoints, Rotated int
}

// Verify checks a keyed trail: its files oldest first (path.N … path.1,
// path), with key the installation's audit key, against checkpoints (may
// be nil) received off the host. It requires:
//
//   - that the first file start with the genesis record, or with a
//     continuation record (the files before it were rotated away), and every
//     later file with a continuation record linking to the previous file's
//     last line;
//   - that every line carry a MAC that matches it under the key, the MAC of
//     the line before as "prev", and the next "seq";
//   - that every checkpoint within the kept lines match the MAC of its line,
//     and that none lie beyond the last line.
//
// The *VerifyError names the first line that breaks a rule.
func Verify(key []byte, files []TrailFile, checkpoints []Checkpoint) (Report, error) {
	var rep Report
	if len(key) < minKeySize {
		return rep, ErrNoKey
	}
	chainKey := deriveKey(key, labelChain)
	// A line may have several checkpoints (the same line sent twice, or a
	// trail restarted or rewritten after its checkpoints were sent): all
	// must match.
	want := map[int64][]Checkpoint{}
	var last Checkpoint
	for _, c := range checkpoints {
		want[c.Seq] = append(want[c.Seq], c)
		if c.Seq > last.Seq {
			last = c
		}
	}
	prevMAC := ""
	var prevSeq int64
	for fi, file := range files {
		sc := bufio.NewScanner(file.R)
		sc.Buffer(make([]byte, 64<<10), maxLine)
		lineNo := 0
		bad := func(reason string) (Report, error) {
			return rep, &VerifyError{File: file.Name, Line: lineNo, Reason: reason}
		}
		for sc.Scan() {
			lineNo++
			line := sc.Bytes()
			var head struct {
				V     int    `json:"v"`
				Event string `json:"event"`
			}
			if err := json.Unmarshal(line, &head); err != nil {
				return bad("not a JSON object")
			}
			t, ok := parseTrailer(line)
			if !ok {
				if head.V == 1 && bytes.Contains(line, []byte(`"prev":"`)) {
					return bad(ErrUnkeyed.Error())
				}
				return bad(`no valid "seq", "prev" and "mac" at its end`)
			}
			if !hmac.Equal([]byte(lineMAC(chainKey, t.body)), []byte(t.mac)) {
				return bad("its MAC does not match: the line was edited, or written with another audit key")
			}
			first := lineNo == 1
			switch {
			case first && fi == 0 && head.Event == EventGenesis:
				if t.seq != 1 || t.prev != GenesisPrev {
					return bad("a genesis record not at position 1")
				}
				rep.Genesis = true
			case first && fi == 0 && head.Event == EventContinued:
				// The files before were rotated away.
			case first && fi > 0 && head.Event == EventContinued:
				if t.prev != prevMAC || t.seq != prevSeq+1 {
					return bad(fmt.Sprintf("its continuation record does not follow the last line of %s: files are missing, out of order or were cut short", files[fi-1].Name))
				}
			case first && fi == 0:
				return bad("the trail does not start with its genesis or continuation record: its first lines were removed")
			case first:
				return bad(fmt.Sprintf("does not start with a continuation record of %s: its first lines were removed", files[fi-1].Name))
			case head.Event == EventGenesis || head.Event == EventContinued:
				return bad(fmt.Sprintf("an %s record inside a file: the trail was restarted or spliced here", head.Event))
			case t.prev != prevMAC || t.seq != prevSeq+1:
				return bad(fmt.Sprintf("does not follow line %d: lines were deleted, inserted or reordered here", lineNo-1))
			}
			if rep.Lines == 0 {
				rep.FirstSeq = t.seq
			}
			for _, c := range want[t.seq] {
				if c.Head != t.mac {
					return bad(fmt.Sprintf("differs from the checkpoint of line %d sent at %s: the trail was rewritten, or lines were removed and others written in their place", c.Seq, c.Time))
				}
				rep.Checkpoints++
			}
			rep.Lines++
			rep.LastSeq, prevSeq, prevMAC = t.seq, t.seq, t.mac
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				lineNo++
				return bad("line too long")
			}
			return rep, fmt.Errorf("could not read the audit log %s: %w", file.Name, err)
		}
	}
	for seq, cs := range want {
		if seq < rep.FirstSeq {
			rep.Rotated += len(cs)
		}
	}
	if last.Seq > rep.LastSeq {
		name := ""
		if len(files) > 0 {
			name = files[len(files)-1].Name
		}
		return rep, &VerifyError{File: name, Line: 0, Reason: fmt.Sprintf(
			"the trail ends at chain line %d, but a checkpoint sent at %s records line %d: the end of the trail was cut off", rep.LastSeq, last.Time, last.Seq)}
	}
	return rep, nil
}

// ReadCheckpoints reads checkpoint records from r: one per line, either the
// JSON record alone (an rsyslog template writing %msg%) or a whole syslog
// message ending in it. Other lines are skipped.
func ReadCheckpoints(r io.Reader) ([]Checkpoint, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var out []Checkpoint
	for sc.Scan() {
		line := sc.Bytes()
		i := bytes.IndexByte(line, '{')
		if i < 0 || !bytes.Contains(line, []byte(`"event":"`+EventCheckpoint+`"`)) {
			continue
		}
		var c struct {
			Checkpoint
			Event string `json:"event"`
		}
		if err := json.Unmarshal(line[i:], &c); err != nil || c.Event != EventCheckpoint || c.Seq < 1 || len(c.Head) != macLen {
			continue
		}
		out = append(out, c.Checkpoint)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("could not read the checkpoints: %w", err)
	}
	return out, nil
}

// maxRotated bounds the search for rotated files: more than a FileSink
// keeps, so that files left by a larger Backups are verified too.
const maxRotated = 99

// TrailFiles returns the files of the trail at path, oldest first: the
// rotated files path.N … path.1 that exist, then path. A gap in the
// numbering is kept (Verify then reports the seam).
func TrailFiles(path string) ([]string, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	var out []string
	for i := maxRotated; i >= 1; i-- {
		p := path + "." + strconv.Itoa(i)
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return append(out, path), nil
}

// CheckRetention applies the FileSink's rotation rule to a verified trail
// of files as TrailFiles lists them: a FileSink keeping backups rotated
// files drops a file only when path.backups exists, so a trail whose oldest
// file is path.k, k < backups, must start with its genesis record. It
// returns a *VerifyError naming the missing file otherwise.
func CheckRetention(files []string, rep Report, backups int) error {
	if rep.Genesis || len(files) == 0 || rep.Lines == 0 {
		return nil
	}
	oldest := files[0]
	i := strings.LastIndexByte(oldest, '.')
	k, err := strconv.Atoi(oldest[i+1:])
	if err != nil {
		k = 0 // the live file alone
	}
	if k >= backups {
		return nil
	}
	missing := oldest[:i] + "." + strconv.Itoa(k+1)
	if k == 0 {
		missing = oldest + ".1"
	}
	return &VerifyError{File: oldest, Line: 1, Reason: fmt.Sprintf(
		"starts with a continuation record, but %s, the file it continues, is missing and rotation keeps %d files: rotated files were removed", missing, backups)}
}
