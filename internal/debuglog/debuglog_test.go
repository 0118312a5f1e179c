package debuglog

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNilLoggerIsOff(t *testing.T) {
	var l *Logger
	l.Printf("nothing %d", 1)
	l.Secret("x")
	if l.Transport(nil) != http.DefaultTransport {
		t.Error("a nil logger wraps the transport")
	}
}

// TestLinesNeverHoldSecrets: whatever a caller passes, a line holds no JWT,
// no registered secret and no control character.
func TestLinesNeverHoldSecrets(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf)
	l.Secret("client-s3cret-value")
	l.Printf("refresh answer %s for %s\x1b[2J", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl", "client-s3cret-value")
	got := buf.String()
	if want := "debug: refresh answer [redacted] for [redacted][2J\n"; got != want {
		t.Errorf("line = %q, want %q", got, want)
	}
}

func TestTransportLogsMethodAndURLWithoutQuery(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	defer srv.Close()
	var buf bytes.Buffer
	c := &http.Client{Transport: New(&buf).Transport(nil)}
	resp, err := c.Get(srv.URL + "/callback?code=secret-code&state=s")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	line := buf.String()
	if !strings.HasPrefix(line, "debug: http GET "+srv.URL+"/callback -> 418 (") || strings.Contains(line, "secret-code") {
		t.Errorf("line = %q", line)
	}
}
