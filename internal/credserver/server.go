// Package credserver serves AWS credentials to a child process over the
// container-credentials protocol (specs.md §1.5): the child's SDK reads
// AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN and
// fetches fresh credentials from this loopback endpoint whenever its copy
// nears expiry, so a Dagster run outlives any single STS session.
package credserver

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Credentials are temporary AWS credentials.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
	// AccountID is optional; newer SDKs read it.
	AccountID string
}

// Provider returns credentials valid for a while; it is expected to cache
// and refresh them. Calls are serialised by the server.
type Provider func(ctx context.Context) (*Credentials, error)

// Options tune the server.
type Options struct {
	// OnServe is called after each authorised credential request with the
	// provider's error (nil on success), e.g. to write a credential_served
	// audit event. It must not block for long.
	OnServe func(err error)
	// Rand is the source of the path and the auth token; crypto/rand when
	// nil.
	Rand io.Reader
	// ProviderTimeout bounds one provider call (default 30 s; the SDKs give
	// up after a few seconds per attempt and retry).
	ProviderTimeout time.Duration
}

// Limits on what a client may send.
const (
	maxHeaderBytes = 8 << 10
	maxBodyBytes   = 1 << 10
)

// Server is a running credential endpoint on 127.0.0.1.
type Server struct {
	ln    net.Listener
	srv   *http.Server
	h     *handler
	url   string
	done  chan struct{}
	close sync.Once
	err   error
}

// Start listens on 127.0.0.1 on a random port and serves credentials from p
// under a random path, to requests carrying the random auth token. The
// server stops (as Close does) when ctx is done or Close is called.
func Start(ctx context.Context, p Provider, opts Options) (*Server, error) {
	if p == nil {
		return nil, errors.New("could not start the credential server: no provider")
	}
	rnd := opts.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	token, err := randomString(rnd, 32)
	if err != nil {
		return nil, fmt.Errorf("could not create the credential server's auth token: %w", err)
	}
	pathPart, err := randomString(rnd, 16)
	if err != nil {
		return nil, fmt.Errorf("could not create the credential server's path: %w", err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("could not listen on 127.0.0.1: %w", err)
	}
	timeout := opts.ProviderTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	h := &handler{
		path:     "/" + pathPart,
		token:    []byte(token),
		hosts:    allowedHosts(ln.Addr()),
		provider: p,
		onServe:  opts.OnServe,
		timeout:  timeout,
	}
	s := &Server{
		ln: ln,
		h:  h,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      timeout + 10*time.Second,
			IdleTimeout:       60 * time.Second,
			MaxHeaderBytes:    maxHeaderBytes,
		},
		url:  "http://" + ln.Addr().String() + h.path,
		done: make(chan struct{}),
	}
	go func() {
		// Serve returns http.ErrServerClosed after Close.
		_ = s.srv.Serve(ln)
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.done:
		}
	}()
	return s, nil
}

// URL is the value for AWS_CONTAINER_CREDENTIALS_FULL_URI:
// http://127.0.0.1:<port>/<random path>.
func (s *Server) URL() string { return s.url }

// AuthToken is the value for AWS_CONTAINER_AUTHORIZATION_TOKEN: 32 random
// bytes, base64url without padding, so no newline and a legal header value.
func (s *Server) AuthToken() string { return string(s.h.token) }

// Addr is the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting requests and waits for those in flight, at most the
// provider timeout, before it closes every connection. A provider call may
// be refreshing the login: cut off after the identity provider rotated the
// refresh token but before the new one was stored, it would lose the login.
func (s *Server) Close() error {
	s.close.Do(func() {
		close(s.done)
		ctx, cancel := context.WithTimeout(context.Background(), s.h.timeout)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.err = s.srv.Close()
		}
	})
	return s.err
}

// randomString returns n random bytes as base64url without padding.
func randomString(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// allowedHosts are the Host header values a legitimate client sends; any
// other value (DNS rebinding) is refused.
func allowedHosts(addr net.Addr) map[string]bool {
	_, port, _ := net.SplitHostPort(addr.String())
	return map[string]bool{
		"127.0.0.1:" + port: true,
		"localhost:" + port: true,
	}
}
