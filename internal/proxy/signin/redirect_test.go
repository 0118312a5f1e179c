package signin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/testutil/redirect"
)

// fakeIssuer serves a discovery document whose token endpoint is token.
func fakeIssuer(t *testing.T, token string) string {
	t.Helper()
	var issuer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{
			"issuer": issuer, "authorization_endpoint": issuer + "/authorize",
			"token_endpoint": token, "jwks_uri": issuer + "/keys",
		})
	}))
	t.Cleanup(srv.Close)
	issuer = srv.URL
	return issuer
}

// TestFinding5_ProxySignInRedirectsNotFollowed is issue 15.5 for the
// proxy's side of OpenID Connect: a token endpoint that answers 307 gets
// neither the authorization code with its PKCE verifier nor a refresh
// token re-sent to another server.
func TestFinding5_ProxySignInRedirectsNotFollowed(t *testing.T) {
	p := redirect.New(t)
	c := &Client{Issuer: &Issuer{URL: fakeIssuer(t, p.First+"/token"), HTTP: &http.Client{}}, ClientID: "c", ClientSecret: "s3cret"}
	calls := map[string]func() error{
		"code exchange": func() error { _, err := c.Exchange(t.Context(), "the-code", NewAttempt("/")); return err },
		"refresh":       func() error { _, err := c.Refresh(t.Context(), "refresh-token-value"); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			before := p.Hits()
			err := call()
			if err == nil || !strings.Contains(err.Error(), "refusing to follow a redirect of POST") {
				t.Errorf("err = %v, want the redirect refused", err)
			}
			if n := p.Hits() - before; n != 0 {
				t.Errorf("%d requests reached the redirect target", n)
			}
		})
	}
}

// TestFinding6_ProxyDiscoveryPlaintextEndpointsRefused is issue 15.6 for
// the proxy: a discovery document naming a plaintext endpoint off loopback
// is refused, naming the key.
func TestFinding6_ProxyDiscoveryPlaintextEndpointsRefused(t *testing.T) {
	c := &Client{Issuer: &Issuer{URL: fakeIssuer(t, "http://id.example.com/token"), HTTP: &http.Client{}}, ClientID: "c"}
	_, err := c.AuthURL(t.Context(), NewAttempt("/"))
	if err == nil || !strings.Contains(err.Error(), `token_endpoint "http://id.example.com/token": endpoint must use https (plain http only on a loopback address)`) {
		t.Fatalf("err = %v, want token_endpoint refused as plaintext", err)
	}
}
