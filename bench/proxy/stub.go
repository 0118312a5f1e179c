package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// stubUpstream stands in for dagster-webserver where only the proxies' own
// cost is wanted: it answers each benchmark body with the answer the real
// webserver gave to it (recorded at start), in microseconds, so that a
// proxy's added latency is not buried in the webserver's. It also accepts
// graphql-ws connections (connection_ack) and serves "/" (where a sign-in
// lands).
type stubUpstream struct {
	mu      sync.RWMutex
	answers map[string][]byte
	srv     *http.Server
	URL     string
}

func startStub() (*stubUpstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &stubUpstream{answers: map[string][]byte{}, URL: "http://" + ln.Addr().String()}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *stubUpstream) close() { _ = s.srv.Close() }

// record makes body answered with answer.
func (s *stubUpstream) record(body, answer []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[string(bytes.TrimSpace(body))] = answer
}

func (s *stubUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/graphql" && r.Header.Get("Upgrade") != "" {
		s.websocket(w, r)
		return
	}
	if r.URL.Path == "/graphql" && r.Method == "POST" {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		s.mu.RLock()
		a, ok := s.answers[string(bytes.TrimSpace(b))]
		s.mu.RUnlock()
		if !ok {
			http.Error(w, "stub: unknown body", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(a)
		return
	}
	if r.URL.Path == "/" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><title>stub</title>")
		return
	}
	http.NotFound(w, r)
}

func (s *stubUpstream) websocket(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"graphql-ws"}, InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := context.Background()
	for {
		_, m, err := c.Read(ctx)
		if err != nil {
			return
		}
		if bytes.Contains(m, []byte(`"connection_init"`)) {
			if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_ack"}`)); err != nil {
				return
			}
		}
	}
}
