package audit

import (
	"io"
	"sync"
)

// WriterSink writes each line and a newline to an io.Writer (stderr).
type WriterSink struct {
	name string
	mu   sync.Mutex
	w    io.Writer
}

// NewWriterSink returns a sink writing JSON lines to w under name.
func NewWriterSink(name string, w io.Writer) Sink {
	return &WriterSink{name: name, w: w}
}

// Name returns the sink's name.
func (s *WriterSink) Name() string { return s.name }

// Write writes line and a newline in one call.
func (s *WriterSink) Write(line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf := make([]byte, 0, len(line)+1)
	buf = append(append(buf, line...), '\n')
	_, err := s.w.Write(buf)
	return err
}

// Close does not close the writer, which the caller owns.
func (s *WriterSink) Close() error { return nil }
