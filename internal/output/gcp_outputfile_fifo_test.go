//go:build unix

package output

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIssue16_9_GCPOutputFileFIFO: a named pipe as the executable's output
// file is refused at once, not waited on (Google's library waits for the
// executable, which would wait for a writer).
func TestIssue16_9_GCPOutputFileFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "out.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	_, ok, err := ReadGCPOutputFile(fifo, time.Now(), time.Minute)
	if ok || err == nil || !strings.Contains(err.Error(), "is not a regular file (it is a named pipe)") {
		t.Errorf("ReadGCPOutputFile(fifo) = %v, %v; want a not-a-regular-file error", ok, err)
	}
}
