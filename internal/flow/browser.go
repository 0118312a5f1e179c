package flow

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// BrowserFlow is the authorization code flow with PKCE S256 on a loopback
// redirect (RFC 8252 §7.3, RFC 7636), with state and nonce checked.
type BrowserFlow struct {
	ClientID     string
	ClientSecret string
	Scopes       []string
	AuthURL      string
	TokenURL     string
	HTTP         *http.Client
	// Host is 127.0.0.1 (default), [::1] or localhost; Port 0 picks a free one.
	Host string
	Port int
	// Path is the exact callback path, default /callback.
	Path    string
	Timeout time.Duration
	// Open opens the URL in a browser; nil or a failing opener means the URL
	// is printed and the flow waits.
	Open   func(url string) error
	Prompt io.Writer
	// Verify checks the ID token against the nonce the flow sent.
	Verify func(ctx context.Context, rawIDToken, nonce string) error
	// Issuer is the profile's issuer. When RequireIss is set (the discovery
	// document advertises authorization_response_iss_parameter_supported),
	// the callback MUST carry iss equal to it (RFC 9207 §2.4); an iss that
	// is present is compared in any case.
	Issuer     string
	RequireIss bool
}

// Name returns "browser".
func (b *BrowserFlow) Name() string { return "browser" }

// Interactive returns true.
func (b *BrowserFlow) Interactive() bool { return true }

// CallbackError is an error answer on the redirect (RFC 6749 §4.1.2.1).
type CallbackError struct {
	Code        string
	Description string
}

// Error returns the IdP's error and description.
func (e *CallbackError) Error() string {
	if e.Description != "" {
		return fmt.Sprintf("the identity provider answered %s: %s", e.Code, e.Description)
	}
	return "the identity provider answered " + e.Code
}

// ErrStateMismatch means the callback's state is not the one this login
// sent. Such a callback is answered 400 and the login keeps waiting for the
// real one (issue 15.7): anything that can reach the loopback port could
// otherwise end a login.
var ErrStateMismatch = errors.New("the login callback's state does not match this login (possible CSRF); nothing was stored")

// ErrIssuerMismatch means the callback's iss (RFC 9207) names another
// issuer than the profile's, or is missing where the issuer promised it: an
// authorization server mix-up.
var ErrIssuerMismatch = errors.New("the login callback's iss does not name this profile's issuer (RFC 9207, possible mix-up attack); nothing was stored")

type callbackResult struct {
	code string
	err  error
}

// Token runs the flow.
func (b *BrowserFlow) Token(ctx context.Context) (*Token, error) {
	timeout := b.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	host := b.Host
	if host == "" {
		host = "127.0.0.1"
	}
	path := b.Path
	if path == "" {
		path = "/callback"
	}
	bindHost := strings.Trim(host, "[]")
	if bindHost == "localhost" {
		bindHost = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(bindHost, strconv.Itoa(b.Port)))
	if err != nil {
		if b.Port != 0 {
			return nil, fmt.Errorf("could not listen on %s port %d for the login redirect (is another login or program using it?): %w", host, b.Port, err)
		}
		return nil, fmt.Errorf("could not open a loopback listener on %s for the login redirect: %w", host, err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	redirect := fmt.Sprintf("http://%s:%d%s", host, port, path)

	state, nonce := randomString(), randomString()
	verifier := oauth2.GenerateVerifier()
	conf := &oauth2.Config{
		ClientID:    b.ClientID,
		Endpoint:    oauth2.Endpoint{AuthURL: b.AuthURL, TokenURL: b.TokenURL},
		RedirectURL: redirect,
		Scopes:      b.Scopes,
	}
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce))

	w := b.Prompt
	if w == nil {
		w = io.Discard
	}
	results := make(chan callbackResult, 1)
	var once sync.Once
	srv := &http.Server{
		Handler:           b.callbackHandler(path, state, results, &once, w),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	if b.Open == nil || b.Open(authURL) != nil {
		fmt.Fprintf(w, "Open this URL in a browser to log in:\n%s\n", authURL)
	} else {
		fmt.Fprintf(w, "Opened a browser to log in. If it did not open, visit:\n%s\n", authURL)
	}
	fmt.Fprintf(w, "Waiting up to %s for the login (Ctrl-C to cancel)...\n", roundWait(timeout))

	var res callbackResult
	select {
	case res = <-results:
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("no login completed within %s; run dagster-oidc login again (or raise browser.timeout)", roundWait(timeout))
		}
		return nil, ctx.Err()
	}
	if res.err != nil {
		var ce *CallbackError
		if errors.As(res.err, &ce) && ce.Code == "access_denied" {
			return nil, apperr.Denied(res.err, "ask your IdP administrator whether you may use this client")
		}
		if errors.Is(res.err, ErrIssuerMismatch) {
			return nil, apperr.Denied(res.err, "run dagster-oidc login again; if it repeats, check the profile's issuer and the IdP's redirect URIs")
		}
		return nil, res.err
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {res.code},
		"redirect_uri":  {redirect},
		"client_id":     {b.ClientID},
		"code_verifier": {verifier},
	}
	tr, _, err := postForm(ctx, b.HTTP, b.TokenURL, form, b.ClientSecret)
	if err != nil {
		return nil, fmt.Errorf("could not redeem the authorization code: %w", err)
	}
	if tr.IDToken == "" {
		return nil, errors.New("the token endpoint returned no id_token; add the openid scope to the profile's scopes")
	}
	if b.Verify != nil {
		if err := b.Verify(ctx, tr.IDToken, nonce); err != nil {
			return nil, err
		}
	}
	return &Token{IDToken: tr.IDToken, RefreshToken: tr.RefreshToken, Source: b.Name()}, nil
}

// writePage writes the small success or failure page. Plain html escaping
// instead of html/template: its initialisation would run at every start of
// the binary, for a page shown once per browser login.
func writePage(w io.Writer, title, text string) {
	fmt.Fprintf(w, `<!doctype html>
<html><head><meta charset="utf-8"><title>dagster-oidc</title>
<style>body{font-family:system-ui,sans-serif;margin:4em auto;max-width:36em;color:#222}h1{font-size:1.4em}</style>
</head><body><h1>%s</h1><p>%s</p></body></html>
`, html.EscapeString(title), html.EscapeString(text))
}

// callbackHandler accepts exactly one request on path that carries this
// login's state; one with another state gets 400 and is reported on prompt,
// the rest 404.
func (b *BrowserFlow) callbackHandler(path, state string, results chan<- callbackResult, once *sync.Once, prompt io.Writer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusBadRequest)
			writePage(w, "Not this login", ErrStateMismatch.Error()+". The login in the terminal is still waiting.")
			fmt.Fprintln(prompt, "warning: ignored a login callback whose state is not this login's (possible CSRF); still waiting for the real one")
			return
		}
		handled := false
		once.Do(func() {
			handled = true
			var res callbackResult
			iss, hasIss := q["iss"]
			switch {
			case (hasIss || b.RequireIss) && (len(iss) != 1 || iss[0] != b.Issuer):
				res.err = ErrIssuerMismatch
			case q.Get("error") != "":
				res.err = &CallbackError{Code: termsafe.Clean(q.Get("error")), Description: termsafe.Clean(q.Get("error_description"))}
			case q.Get("code") == "":
				res.err = errors.New("the login callback carried neither a code nor an error")
			default:
				res.code = q.Get("code")
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			if res.err != nil {
				w.WriteHeader(http.StatusBadRequest)
				writePage(w, "Login failed", res.err.Error()+". You can close this tab and look at the terminal.")
			} else {
				writePage(w, "Logged in", "dagster-oidc received the login. You can close this tab.")
			}
			results <- res
		})
		if !handled {
			http.NotFound(w, r)
		}
	})
}

// roundWait shows a timeout in whole seconds, or as is when under a second
// (rounding 500ms would print "0s").
func roundWait(d time.Duration) time.Duration {
	if d < time.Second {
		return d
	}
	return d.Round(time.Second)
}

func randomString() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
