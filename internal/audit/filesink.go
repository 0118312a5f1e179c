package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// GenesisPrev is the "prev" of the first line of a new chain.
var GenesisPrev = strings.Repeat("0", sha256.Size*2)

// DefaultBackups is how many rotated files a FileSink keeps (path.1 is the
// newest).
const DefaultBackups = 5

// FileSink appends lines to a file, 0600 in a 0700 directory, chaining each
// line to the one before: a line carries "prev", the SHA-256 (hex) of the
// previous line's bytes; the first line of a file carries the hash of the
// last line of its rotated predecessor, or GenesisPrev. Processes appending
// at once are serialised by an flock on path + ".lock", and the chain is
// continued from the file's current last line at each write, so any number
// of dagster-oidc processes can share one log.
type FileSink struct {
	path     string
	maxBytes int64
	// Backups is the number of rotated files kept (DefaultBackups).
	Backups int
	// LockTimeout bounds the wait for another process's lock (default 2 s).
	LockTimeout time.Duration

	mu   sync.Mutex
	lock *flock.Flock
}

// NewFileSink opens (creating as needed) the log at path. When maxBytes is
// positive the file is rotated before a line would take it past maxBytes:
// path.N-1 → path.N, …, path → path.1.
func NewFileSink(path string, maxBytes int64) (*FileSink, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("could not create the audit log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("could not open the audit log: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("could not restrict the audit log to its owner: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("could not open the audit log: %w", err)
	}
	return &FileSink{
		path:        path,
		maxBytes:    maxBytes,
		Backups:     DefaultBackups,
		LockTimeout: 2 * time.Second,
		lock:        flock.New(path + ".lock"),
	}, nil
}

// Name returns "file:" and the path.
func (s *FileSink) Name() string { return "file:" + s.path }

// Write appends line, a JSON object, with its "prev" field.
func (s *FileSink) Write(line []byte) error {
	line = bytes.TrimSpace(line)
	if len(line) < 2 || line[0] != '{' || line[len(line)-1] != '}' || bytes.IndexByte(line, '\n') >= 0 {
		return errors.New("could not append to the audit log: the line is not one JSON object")
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), s.LockTimeout)
	defer cancel()
	locked, err := s.lock.TryLockContext(ctx, 10*time.Millisecond)
	if err != nil || !locked {
		return fmt.Errorf("could not lock the audit log: %w", errors.Join(err, ctx.Err()))
	}
	defer func() { _ = s.lock.Unlock() }()

	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("could not open the audit log: %w", err)
	}
	prev, size, err := lastLineHash(f)
	if err != nil {
		f.Close()
		return err
	}
	out := withPrev(line, "") // size estimate only
	if s.maxBytes > 0 && size > 0 && size+int64(len(out))+int64(len(GenesisPrev))+1 > s.maxBytes {
		f.Close()
		if err := s.rotate(); err != nil {
			return err
		}
		if f, err = os.OpenFile(s.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
			return fmt.Errorf("could not open the audit log: %w", err)
		}
	} else if size == 0 {
		// A fresh file continues the chain of its rotated predecessor.
		if prev, err = predecessorHash(s.path + ".1"); err != nil {
			f.Close()
			return err
		}
	}
	out = append(withPrev(line, prev), '\n')
	if _, err := f.Write(out); err != nil {
		f.Close()
		return fmt.Errorf("could not append to the audit log: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("could not append to the audit log: %w", err)
	}
	return nil
}

// Close releases nothing: files are opened per write.
func (s *FileSink) Close() error { return nil }

// rotate shifts path.N-1 → path.N … path → path.1, dropping the oldest.
func (s *FileSink) rotate() error {
	n := s.Backups
	if n < 1 {
		n = 1
	}
	for i := n - 1; i >= 1; i-- {
		from, to := s.path+"."+strconv.Itoa(i), s.path+"."+strconv.Itoa(i+1)
		if err := os.Rename(from, to); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("could not rotate the audit log: %w", err)
		}
	}
	if err := os.Rename(s.path, s.path+".1"); err != nil {
		return fmt.Errorf("could not rotate the audit log: %w", err)
	}
	return nil
}

// withPrev inserts "prev" as the last member of the JSON object line.
func withPrev(line []byte, prev string) []byte {
	out := make([]byte, 0, len(line)+len(prev)+10)
	out = append(out, line[:len(line)-1]...)
	if len(line) > 2 {
		out = append(out, ',')
	}
	out = append(out, `"prev":"`...)
	out = append(out, prev...)
	return append(out, `"}`...)
}

// predecessorHash is the hash of the last line of path, or GenesisPrev when
// path does not exist or is empty.
func predecessorHash(path string) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return GenesisPrev, nil
	}
	if err != nil {
		return "", fmt.Errorf("could not read the rotated audit log: %w", err)
	}
	defer f.Close()
	h, _, err := lastLineHash(f)
	return h, err
}

// maxLine bounds how far back lastLineHash looks for a line start.
const maxLine = 1 << 20

// tailChunk is the first window lastLineHash reads from the end of the
// file; it doubles until it holds a whole line (an audit line is well under
// 4 KiB, so one read is the rule).
const tailChunk = 4 << 10

// lastLineHash returns the hash of f's last line (GenesisPrev for an empty
// file) and f's size. It reads only the file's tail, never more than
// maxLine bytes: the log grows with every credential served, and reading
// all of it at each start would make every call slower than the last.
func lastLineHash(f *os.File) (string, int64, error) {
	st, err := f.Stat()
	if err != nil {
		return "", 0, fmt.Errorf("could not read the audit log: %w", err)
	}
	size := st.Size()
	if size == 0 {
		return GenesisPrev, 0, nil
	}
	limit := min(size, maxLine)
	for n := min(size, tailChunk); ; n = min(2*n, limit) {
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, size-n); err != nil && !errors.Is(err, io.EOF) {
			return "", 0, fmt.Errorf("could not read the audit log: %w", err)
		}
		buf = bytes.TrimRight(buf, "\n")
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			return lineHash(buf[i+1:]), size, nil
		}
		if n == limit {
			// The whole file, or maxLine bytes, hold no line start.
			return lineHash(buf), size, nil
		}
	}
}

// lineHash is the chain hash of one line (without its newline).
func lineHash(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}
