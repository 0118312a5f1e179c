package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// startServer starts a sandbox that stops when the test ends.
func startServer(t *testing.T, o Options) *Server {
	t.Helper()
	s, err := Start(t.Context(), o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// oauthConfig is the public client's x/oauth2 config, from discovery.
func oauthConfig(t *testing.T, s *Server, redirect string) (*oauth2.Config, *oidc.Provider) {
	t.Helper()
	p, err := oidc.NewProvider(t.Context(), s.Issuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams // quirk 4: no Basic auth round trip
	return &oauth2.Config{
		ClientID:    s.ClientID(),
		Endpoint:    ep,
		RedirectURL: redirect,
		Scopes:      []string{oidc.ScopeOpenID, "email", "profile", "groups", oidc.ScopeOfflineAccess},
	}, p
}

// verifyIDToken checks raw with go-oidc and returns its claims.
func verifyIDToken(t *testing.T, p *oidc.Provider, clientID, raw string) map[string]any {
	t.Helper()
	tok, err := p.Verifier(&oidc.Config{ClientID: clientID}).Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		t.Fatalf("claims: %v", err)
	}
	return claims
}

// authCodeLogin runs the auth code + PKCE flow with a scripted browser
// (a cookie-jar client posting the login form) and returns the tokens.
func authCodeLogin(t *testing.T, s *Server, user, password string) (*oauth2.Token, *oidc.Provider) {
	t.Helper()
	cfg, p := oauthConfig(t, s, "http://127.0.0.1:49152/callback")
	verifier := oauth2.GenerateVerifier()
	loc, _, err := browse(t, s, cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier)), user, password)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	code := loc.Query().Get("code")
	if loc.Query().Get("state") != "state-1" || code == "" {
		t.Fatalf("redirect %s lacks code or state", loc.Redacted())
	}
	tok, err := cfg.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok, p
}

// browse opens authURL, fills the login form and returns the redirect
// away from the sandbox that the provider finally sends the browser to, and
// the login page it showed.
func browse(t *testing.T, s *Server, authURL, user, password string) (*url.URL, string, error) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, "", err
	}
	host := strings.TrimPrefix(s.Issuer(), "http://")
	var final *url.URL
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != host {
			final = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, page, err := get(t.Context(), c, authURL)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK || final != nil {
		return final, page, &statusError{resp.StatusCode}
	}
	form := url.Values{"id": {resp.Request.URL.Query().Get("authRequestID")}, "username": {user}, "password": {password}}
	resp, err = postForm(t.Context(), c, s.Issuer()+loginPath, form)
	if err != nil {
		return nil, page, err
	}
	if err := resp.Body.Close(); err != nil {
		return nil, page, err
	}
	if final == nil {
		return nil, page, &statusError{resp.StatusCode}
	}
	return final, page, nil
}

type statusError struct{ code int }

func (e *statusError) Error() string { return "unexpected HTTP status " + http.StatusText(e.code) }

func get(ctx context.Context, c *http.Client, u string) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func postForm(ctx context.Context, c *http.Client, u string, form url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}

// tokenPost posts a form to the token endpoint and decodes the JSON answer.
func tokenPost(t *testing.T, s *Server, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := postForm(t.Context(), http.DefaultClient, s.Issuer()+"/oauth/token", form)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode token answer: %v", err)
	}
	return resp.StatusCode, body
}

// TestMain silences the op's logs: it writes them to the process-wide
// default slog logger, whatever the provider's options.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}
