package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

// DefaultBackups is how many rotated files a FileSink keeps (path.1 is the
// newest).
const DefaultBackups = 5

// FileSinkOptions configure a FileSink.
type FileSinkOptions struct {
	// Key is the installation's audit key (see LoadOrCreateKey); the chain
	// MACs are keyed with a key derived from it. Required.
	Key []byte
	// MaxBytes rotates the file before a line would take it past MaxBytes
	// (0: never).
	MaxBytes int64
	// Backups is the number of rotated files kept (DefaultBackups when 0).
	Backups int
	// Clock stamps genesis, continuation and checkpoint records;
	// clock.Real{} when nil.
	Clock clock.Clock
	// Checkpoints, when set, receives a checkpoint record (the line count
	// and the MAC of the head line) after every CheckpointEvery-th line of
	// the chain: a syslog sink, so that a trail cut short or rewritten can
	// be told apart from the real one off the host.
	Checkpoints Sink
	// CheckpointEvery is the checkpoint period in lines; 0 sends none.
	CheckpointEvery int64
}

// FileSink appends lines to a file, 0600 in a 0700 directory, as a keyed
// chain: every line carries "seq" (its position in the chain), "prev" (the
// MAC of the line before) and "mac" (HMAC-SHA256 of the line itself under
// a key derived from the installation's audit key). A trail starts with a
// genesis record; after rotation the new file starts with a continuation
// record whose prev is the MAC of the rotated file's last line. Processes
// appending at once are serialised by an flock on path + ".lock", and the
// chain is continued from the file's current last line at each write (a
// bounded read of its tail), so any number of dagster-oidc processes can
// share one log.
type FileSink struct {
	path string
	o    FileSinkOptions
	key  []byte // the chain key
	// LockTimeout bounds the wait for another process's lock (default 2 s).
	LockTimeout time.Duration

	mu   sync.Mutex
	lock *flock.Flock
}

// ErrNoKey is returned by NewFileSink without an audit key: an unkeyed chain
// proves nothing.
var ErrNoKey = errors.New("no audit key: the keyed hash chain needs the installation's audit key")

// NewFileSink opens (creating as needed) the log at path. When o.MaxBytes
// is positive the file is rotated before a line would take it past it:
// path.N-1 → path.N, …, path → path.1.
func NewFileSink(path string, o FileSinkOptions) (*FileSink, error) {
	if len(o.Key) < minKeySize {
		return nil, ErrNoKey
	}
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
	if o.Backups < 1 {
		o.Backups = DefaultBackups
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	return &FileSink{
		path:        path,
		o:           o,
		key:         deriveKey(o.Key, labelChain),
		LockTimeout: 2 * time.Second,
		lock:        flock.New(path + ".lock"),
	}, nil
}

// Name returns "file:" and the path.
func (s *FileSink) Name() string { return "file:" + s.path }

// Write appends line, a JSON object, with its chain trailer, preceded by a
// genesis record when the trail is new and by a continuation record when
// the file is new after a rotation.
func (s *FileSink) Write(line []byte) error {
	line = bytes.TrimSpace(line)
	if len(line) < 2 || line[0] != '{' || line[len(line)-1] != '}' || bytes.IndexByte(line, '\n') >= 0 {
		return errors.New("could not append to the audit log: the line is not one JSON object")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seq, mac, err := s.append(line)
	if err != nil {
		return err
	}
	// After the file lock is released: a slow collector must not hold up
	// the other processes appending.
	if s.o.Checkpoints != nil && s.o.CheckpointEvery > 0 && seq%s.o.CheckpointEvery == 0 {
		if err := s.o.Checkpoints.Write(checkpointLine(formatTime(s.o.Clock.Now()), seq, mac)); err != nil {
			return fmt.Errorf("could not send the audit checkpoint: %w", err)
		}
	}
	return nil
}

// append writes line under the file lock and returns its seq and mac.
func (s *FileSink) append(line []byte) (int64, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.LockTimeout)
	defer cancel()
	locked, err := s.lock.TryLockContext(ctx, 10*time.Millisecond)
	if err != nil || !locked {
		return 0, "", fmt.Errorf("could not lock the audit log: %w", errors.Join(err, ctx.Err()))
	}
	defer func() { _ = s.lock.Unlock() }()

	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, "", fmt.Errorf("could not open the audit log: %w", err)
	}
	last, size, err := lastLine(f)
	if err != nil {
		f.Close()
		return 0, "", err
	}
	head, chained := parseTrailer(last)
	var start string // the record a new file starts with, if any
	switch {
	case size == 0:
		// A new trail, or the first write after another process rotated.
		if head, chained, err = predecessorHead(s.path + ".1"); err != nil {
			f.Close()
			return 0, "", err
		}
		start = EventGenesis
		if chained {
			start = EventContinued
		}
	case !chained:
		// A schema 1 (unkeyed) trail, or a damaged last line: keep that
		// file as it is, as path.1, and start a new keyed trail.
		start = EventGenesis
	case s.o.MaxBytes > 0 && size+int64(len(line)+trailerLen+24) > s.o.MaxBytes:
		start = EventContinued
	}
	if size > 0 && start != "" {
		f.Close()
		if err := s.rotate(); err != nil {
			return 0, "", err
		}
		if f, err = os.OpenFile(s.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
			return 0, "", fmt.Errorf("could not open the audit log: %w", err)
		}
	}
	seq, prev := head.seq, head.mac
	var out []byte
	if start == EventGenesis {
		seq, prev = 0, GenesisPrev
	}
	if start != "" {
		var rec []byte
		rec, prev = chainLine(s.key, chainRecord(start, formatTime(s.o.Clock.Now())), seq+1, prev)
		seq++
		out = append(rec, '\n')
	}
	rec, mac := chainLine(s.key, line, seq+1, prev)
	seq++
	out = append(append(out, rec...), '\n')
	if _, err := f.Write(out); err != nil {
		f.Close()
		return 0, "", fmt.Errorf("could not append to the audit log: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, "", fmt.Errorf("could not append to the audit log: %w", err)
	}
	return seq, mac, nil
}

// Close releases nothing: files are opened per write.
func (s *FileSink) Close() error { return nil }

// rotate shifts path.N-1 → path.N … path → path.1, dropping the oldest.
func (s *FileSink) rotate() error {
	for i := s.o.Backups - 1; i >= 1; i-- {
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

// predecessorHead is the trailer of the last line of path; chained is false
// when path does not exist, is empty or does not end in a chained line.
func predecessorHead(path string) (head trailer, chained bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return trailer{}, false, nil
	}
	if err != nil {
		return trailer{}, false, fmt.Errorf("could not read the rotated audit log: %w", err)
	}
	defer f.Close()
	last, _, err := lastLine(f)
	if err != nil {
		return trailer{}, false, err
	}
	head, chained = parseTrailer(last)
	return head, chained, nil
}

// maxLine bounds how far back lastLine looks for a line start.
const maxLine = 1 << 20

// tailChunk is the first window lastLine reads from the end of the
// file; it doubles until it holds a whole line (an audit line is well under
// 4 KiB, so one read is the rule).
const tailChunk = 4 << 10

// lastLine returns f's last line (nil for an empty file) and f's size. It
// reads only the file's tail, never more than maxLine bytes: the log grows
// with every credential served, and reading all of it at each start would
// make every call slower than the last.
func lastLine(f *os.File) ([]byte, int64, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("could not read the audit log: %w", err)
	}
	size := st.Size()
	if size == 0 {
		return nil, 0, nil
	}
	limit := min(size, maxLine)
	for n := min(size, tailChunk); ; n = min(2*n, limit) {
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, size-n); err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("could not read the audit log: %w", err)
		}
		buf = bytes.TrimRight(buf, "\n")
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			return buf[i+1:], size, nil
		}
		if n == limit {
			// The whole file, or maxLine bytes, hold no line start.
			return buf, size, nil
		}
	}
}
