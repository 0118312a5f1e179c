package sandbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/atomicfile"
)

// TokenFileOptions describe a rotating service-account token file.
type TokenFileOptions struct {
	// Path is the file; its directory is created 0700 when missing.
	Path string
	// Audience is the token's aud; default the client ID.
	Audience string
	// Subject is the token's sub; default DefaultMintSubject.
	Subject string
	// Lifetime of each token; default the server's IDTokenLifetime.
	Lifetime time.Duration
	// Claims are added to every token (see MintIDToken).
	Claims map[string]any
}

// TokenFile is a service-account token file that the sandbox keeps fresh,
// as the kubelet keeps a projected service-account token: a new token is
// written (atomically, 0600) once 80% of the current one's lifetime has
// passed, until Close.
type TokenFile struct {
	s    *Server
	o    TokenFileOptions
	stop context.CancelFunc
	done chan struct{}
	// after starts the rotation timer; tests replace it.
	after func(time.Duration) <-chan time.Time

	mu       sync.Mutex
	current  string
	rotation int
}

// KeepTokenFile writes a fresh token to o.Path now and keeps rotating it
// until ctx ends or Close is called. Workload profiles (flow: kubernetes or
// file with workload.path) read it as they would a projected token.
func (s *Server) KeepTokenFile(ctx context.Context, o TokenFileOptions) (*TokenFile, error) {
	return s.keepTokenFile(ctx, o, time.After)
}

func (s *Server) keepTokenFile(ctx context.Context, o TokenFileOptions, after func(time.Duration) <-chan time.Time) (*TokenFile, error) {
	if o.Path == "" {
		return nil, errors.New("could not keep a token file: no path given")
	}
	if o.Audience == "" {
		o.Audience = s.opts.ClientID
	}
	if o.Subject == "" {
		o.Subject = DefaultMintSubject
	}
	if o.Lifetime <= 0 {
		o.Lifetime = s.opts.IDTokenLifetime
	}
	f := &TokenFile{s: s, o: o, done: make(chan struct{}), after: after}
	if err := f.Rotate(); err != nil {
		return nil, err
	}
	loop, stop := context.WithCancel(ctx)
	f.stop = stop
	go func() {
		defer close(f.done)
		for {
			select {
			case <-loop.Done():
				return
			case <-f.after(o.Lifetime * 8 / 10):
			}
			// A failed write keeps the old token; the next round tries again.
			_ = f.Rotate()
		}
	}()
	return f, nil
}

// Rotate writes a new token at once.
func (f *TokenFile) Rotate() error {
	// A jti of its own (as Kubernetes gives projected tokens) makes each
	// token new even within one second.
	claims := map[string]any{"sub": f.o.Subject, "aud": f.o.Audience, "jti": newID()}
	for k, v := range f.o.Claims {
		claims[k] = v
	}
	tok, err := f.s.MintIDToken(claims, f.o.Lifetime)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(f.o.Path, []byte(tok), 0o600); err != nil {
		return fmt.Errorf("could not write the token file: %w", err)
	}
	f.mu.Lock()
	f.current = tok
	f.rotation++
	f.mu.Unlock()
	return nil
}

// Path is the token file.
func (f *TokenFile) Path() string { return f.o.Path }

// Current returns the token last written and how many have been written.
func (f *TokenFile) Current() (token string, rotations int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.current, f.rotation
}

// Close stops the rotation; the file stays.
func (f *TokenFile) Close() {
	f.stop()
	<-f.done
}
