// Package safehttp holds the transport rules every call to an identity
// provider or a cloud STS follows (issue 15.5, 15.6):
//
//   - an endpoint that receives a token, a code, a secret or credentials is
//     https, or plain http on a loopback address only ([CheckURL]);
//   - such calls never follow a redirect ([NoRedirects]): a 307/308 would
//     re-send the POST body — a device code, a code and its verifier, a
//     refresh token, a WebIdentityToken — to wherever the Location points;
//   - discovery documents and JWKS, public and fetched with GET, may follow
//     a redirect on the same origin only ([SameOriginGETs]).
package safehttp

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// maxRedirects bounds a same-origin redirect chain.
const maxRedirects = 5

// IsLoopback reports whether host (without port) is localhost or a
// loopback IP address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Secure reports whether u may carry a secret: https, or http to a
// loopback host.
func Secure(u *url.URL) bool {
	return u.Host != "" && (u.Scheme == "https" || (u.Scheme == "http" && IsLoopback(u.Hostname())))
}

// ErrInsecureURL means an endpoint would carry secrets in plain text.
var ErrInsecureURL = errors.New("endpoint must use https (plain http only on a loopback address)")

// CheckURL returns nil when raw is an absolute URL that [Secure] accepts,
// and an error wrapping [ErrInsecureURL] (or a parse error) otherwise. The
// caller names the key or field.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	if !Secure(u) {
		return fmt.Errorf("%q: %w", raw, ErrInsecureURL)
	}
	return nil
}

// RedirectError reports a redirect that was not followed.
type RedirectError struct {
	// From and To are the request URL and the Location, without query or
	// fragment (they may hold a code or a state).
	From, To string
	// Method is the request's method.
	Method string
}

// Error names both ends.
func (e *RedirectError) Error() string {
	return fmt.Sprintf("refusing to follow a redirect of %s %s to %s: calls that carry tokens or secrets are never redirected, and discovery only within the same origin; configure the final URL", e.Method, e.From, e.To)
}

// NoRedirects returns a copy of c (nil means a client with a 30 s timeout)
// that returns a [RedirectError] instead of following any redirect.
func NoRedirects(c *http.Client) *http.Client {
	cp := clone(c)
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		return redirectError(req, via)
	}
	return cp
}

// SameOriginGETs returns a copy of c that follows a redirect of a GET only
// to the same scheme, host and port, at most 5 times.
func SameOriginGETs(c *http.Client) *http.Client {
	cp := clone(c)
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		if req.Method != http.MethodGet || via[0].Method != http.MethodGet || req.URL.Scheme != first.Scheme || req.URL.Host != first.Host || len(via) > maxRedirects {
			return redirectError(req, via)
		}
		return nil
	}
	return cp
}

func redirectError(req *http.Request, via []*http.Request) error {
	prev := via[len(via)-1]
	return &RedirectError{Method: via[0].Method, From: Redact(prev.URL), To: Redact(req.URL)}
}

// Redact returns u without its query, fragment and user information, for
// logs and errors.
func Redact(u *url.URL) string {
	cp := *u
	cp.RawQuery, cp.Fragment, cp.RawFragment, cp.User = "", "", "", nil
	return cp.String()
}

func clone(c *http.Client) *http.Client {
	if c == nil {
		return &http.Client{Timeout: defaultTimeout}
	}
	cp := *c
	return &cp
}

// defaultTimeout bounds a call made without a configured client.
const defaultTimeout = 30 * time.Second
