package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServe(t *testing.T) {
	tests := []struct {
		name string
		// stop ends serving: cancel the context, or close the listener.
		stop    func(cancel context.CancelFunc, ln net.Listener)
		wantErr string
	}{
		{name: "context done", stop: func(cancel context.CancelFunc, _ net.Listener) { cancel() }},
		{name: "listener closed", stop: func(_ context.CancelFunc, ln net.Listener) { ln.Close() }, wantErr: "the proxy stopped: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- Serve(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "up") }))
			}()
			resp, err := http.Get("http://" + ln.Addr().String() + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "up" {
				t.Errorf("body %q, want the handler's", body)
			}
			tt.stop(cancel, ln)
			select {
			case err := <-done:
				if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
					t.Errorf("Serve = %v, want %q", err, tt.wantErr)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Serve did not return")
			}
		})
	}
}

// TestFinding4_ProxyErrorLogWithoutTerminalControls is issue 15.4 for the proxy's stderr: a request path
// (percent-decoded by net/http) or an IdP's error text cannot send
// controls or start a fake line.
func TestFinding4_ProxyErrorLogWithoutTerminalControls(t *testing.T) {
	var b strings.Builder
	LineLog(&b)("upstream %s %s: %v", "GET", "/runs/\x1b[2J\r\nfake line\u009b", errors.New("refused"))
	want := "dagster-oidc proxy: upstream GET /runs/[2Jfake line: refused\n"
	if b.String() != want {
		t.Errorf("error log line %q, want %q", b.String(), want)
	}
}
