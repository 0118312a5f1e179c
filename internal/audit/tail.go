package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// Tail prints the last n events of a log read from r, one readable line
// each, oldest first; n <= 0 prints them all. Lines that are not events
// are shown as such, so tampering stays visible. With session set (a
// SessionHash), only the events of that STS session are printed.
//
//	2026-01-02T03:04:05.000Z exchange ok profile=dev env=dev role=arn:… session=0c1f… run=5f2c… job=etl_daily
func Tail(w io.Writer, r io.Reader, n int, session string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var ring []string
	lineNo := 0
	for sc.Scan() {
		lineNo++
		if session != "" && !bytes.Contains(sc.Bytes(), []byte(`"session_hash":"`+session+`"`)) {
			continue
		}
		ring = append(ring, humanLine(lineNo, sc.Bytes()))
		if n > 0 && len(ring) > n {
			ring = slices.Delete(ring, 0, 1)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("could not read the audit log: %w", err)
	}
	for _, l := range ring {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return fmt.Errorf("could not print the audit log: %w", err)
		}
	}
	return nil
}

// humanLine renders one JSON line.
func humanLine(lineNo int, line []byte) string {
	var rec record
	if err := json.Unmarshal(line, &rec); err != nil || rec.Event == "" {
		return fmt.Sprintf("line %d: not an audit event", lineNo)
	}
	parts := []string{termsafe.Clean(rec.Time), termsafe.Clean(rec.Event), termsafe.Clean(rec.Outcome)}
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+quoteIfNeeded(v))
		}
	}
	add("profile", rec.Profile)
	add("env", rec.Environment)
	add("source", rec.Source)
	add("subject", rec.SubjectHash)
	add("role", rec.Role)
	add("sa", rec.ServiceAccount)
	add("session", rec.SessionHash)
	add("expires", rec.CredentialExpiry)
	add("run", rec.RunID)
	add("job", rec.JobName)
	add("error", rec.ErrorClass)
	add("reason", rec.Reason)
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), " ")
}

// quoteIfNeeded quotes values with spaces or quotes so fields stay apart,
// and values with terminal controls (an IdP's error text, say) so that %q
// shows them escaped instead of sending them to the terminal (issue 15.4).
func quoteIfNeeded(s string) string {
	if strings.ContainsAny(s, " \t\"=") || termsafe.Clean(s) != s {
		return fmt.Sprintf("%q", s)
	}
	return s
}
