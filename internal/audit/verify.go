package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sync"
)

// VerifyError names the first line at which a log stops being intact.
type VerifyError struct {
	// Line is the 1-based number of the first bad line.
	Line int
	// Reason says what is wrong with it.
	Reason string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

var hashPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{64}$`) })

// Verify reads a hash-chained log (one file, or rotated files concatenated
// oldest first) and checks that every line is a JSON object whose "prev" is
// the SHA-256 of the line before it. The first line's "prev" is taken as
// given: it is GenesisPrev for a log that never rotated, otherwise the hash
// of a line in an older file.
//
// An edited line k breaks the link into line k+1; a deleted, inserted or
// moved line breaks the link at the position it changed. The returned
// *VerifyError names the first line whose link is broken, and lines counts
// the intact lines before it. A change to the very last line, or lines cut off
// the end, leave no trace in the chain itself: compare with a copy sent
// elsewhere (syslog) for that.
func Verify(r io.Reader) (lines int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	prevHash := ""
	for sc.Scan() {
		lines++
		line := sc.Bytes()
		var head struct {
			Prev *string `json:"prev"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			return lines - 1, &VerifyError{Line: lines, Reason: "not a JSON object"}
		}
		if head.Prev == nil || !hashPattern().MatchString(*head.Prev) {
			return lines - 1, &VerifyError{Line: lines, Reason: `no valid "prev" hash`}
		}
		if lines > 1 && *head.Prev != prevHash {
			return lines - 1, &VerifyError{Line: lines, Reason: fmt.Sprintf(
				"does not follow line %d: line %d was edited, or lines were deleted, inserted or reordered here", lines-1, lines-1)}
		}
		prevHash = lineHash(line)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return lines, &VerifyError{Line: lines + 1, Reason: "line too long"}
		}
		return lines, fmt.Errorf("could not read the audit log: %w", err)
	}
	return lines, nil
}
