package sandbox

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// logRequests writes "METHOD PATH STATUS DURATION" per request. Query
// strings are never logged: they carry codes and states.
func logRequests(w io.Writer, next http.Handler) http.Handler {
	if w == io.Discard {
		return next
	}
	var mu sync.Mutex
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: rw, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		mu.Lock()
		defer mu.Unlock()
		_, _ = fmt.Fprintf(w, "sandbox: %s %s %d %s\n", r.Method, r.URL.Path, sw.status, time.Since(start).Round(time.Millisecond))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
