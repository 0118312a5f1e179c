// Package redirect serves the attack of issue 15.5 in tests: a first
// server that answers every request with a 307 to a second server, which
// counts what reaches it.
package redirect

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// Pair is the redirecting server and the one it points to.
type Pair struct {
	// First answers 307 Temporary Redirect to Second, same path and query.
	First string
	// Second is where a followed redirect would land.
	Second string
	hits   atomic.Int64
}

// New starts both servers, closed when t ends.
func New(t testing.TB) *Pair {
	t.Helper()
	p := &Pair{}
	second := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(second.Close)
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, second.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(first.Close)
	p.First, p.Second = first.URL, second.URL
	return p
}

// Hits is how many requests reached Second.
func (p *Pair) Hits() int64 { return p.hits.Load() }
