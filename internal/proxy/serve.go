package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// shutdownGrace is how long requests in flight may finish once Serve's
// context is done.
const shutdownGrace = 10 * time.Second

// Serve serves h on ln until ctx is done, then lets the requests in flight
// finish for up to 10 seconds. It returns an error only when serving stops
// on its own.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("the proxy stopped: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	return nil
}

// LineLog is an Options.ErrorLog that writes "dagster-oidc proxy: ..." lines
// to w. Request paths and IdP error text are not the proxy's to trust: each
// is one line without terminal controls (issue 15.4).
func LineLog(w io.Writer) func(format string, args ...any) {
	return func(format string, args ...any) {
		fmt.Fprintf(w, "dagster-oidc proxy: %s\n", termsafe.Clean(fmt.Sprintf(format, args...)))
	}
}
