package flow_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/safehttp"
	"github.com/dagster-oidc/dagster-oidc/internal/testutil/redirect"
)

// TestFinding5_RedirectsNotFollowed is issue 15.5: an IdP endpoint that
// answers 307 must not get the device code, the refresh token or the
// discovery request re-sent to another server.
func TestFinding5_RedirectsNotFollowed(t *testing.T) {
	p := redirect.New(t)
	client := &http.Client{}
	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"device authorization", func(ctx context.Context) error {
			_, err := (&flow.DeviceFlow{ClientID: "c", DeviceAuthURL: p.First + "/device", TokenURL: p.First + "/token", HTTP: client, Prompt: io.Discard}).Token(ctx)
			return err
		}},
		{"token endpoint (refresh)", func(ctx context.Context) error {
			_, err := (&flow.Refresher{ClientID: "c", ClientSecret: "s3cret", TokenURL: p.First + "/token", HTTP: client}).Refresh(ctx, "refresh-token-value")
			return err
		}},
		{"revocation", func(ctx context.Context) error {
			return (&flow.Refresher{ClientID: "c", HTTP: client}).Revoke(ctx, p.First+"/revoke", "refresh-token-value")
		}},
		{"discovery to another origin", func(ctx context.Context) error {
			_, err := (&flow.Discovery{Issuer: p.First, HTTP: client}).Metadata(ctx)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := p.Hits()
			err := tt.call(t.Context())
			var re *safehttp.RedirectError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a RedirectError", err)
			}
			if n := p.Hits() - before; n != 0 {
				t.Errorf("%d requests reached the redirect target", n)
			}
		})
	}
}

// TestFinding5_DiscoveryFollowsSameOriginGET: a discovery document moved
// within the issuer's own origin is still found.
func TestFinding5_DiscoveryFollowsSameOriginGET(t *testing.T) {
	var issuer string
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/moved/openid-configuration", http.StatusFound)
	})
	mux.HandleFunc("/moved/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"issuer":"` + issuer + `","jwks_uri":"` + issuer + `/keys"}`))
	})
	issuer = newServer(t, mux)
	if _, err := (&flow.Discovery{Issuer: issuer, HTTP: &http.Client{}}).Metadata(t.Context()); err != nil {
		t.Fatalf("same-origin redirect of discovery: %v", err)
	}
}

// TestFinding6_DiscoveryPlaintextEndpointsRefused is issue 15.6 for the
// discovery document: every endpoint it names follows the issuer's rule.
func TestFinding6_DiscoveryPlaintextEndpointsRefused(t *testing.T) {
	for _, key := range []string{"authorization_endpoint", "token_endpoint", "device_authorization_endpoint", "jwks_uri", "revocation_endpoint"} {
		t.Run(key, func(t *testing.T) {
			var issuer string
			issuer = newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				doc := map[string]string{"issuer": issuer, "jwks_uri": issuer + "/keys", "token_endpoint": issuer + "/token"}
				doc[key] = "http://id.example.com/" + key
				json.NewEncoder(w).Encode(doc)
			}))
			_, err := (&flow.Discovery{Issuer: issuer, HTTP: &http.Client{}}).Metadata(t.Context())
			if !errors.Is(err, safehttp.ErrInsecureURL) || !strings.Contains(err.Error(), key+` "http://id.example.com/`+key+`"`) {
				t.Fatalf("err = %v, want %s refused as plaintext", err, key)
			}
		})
	}
	t.Run("http on loopback", func(t *testing.T) {
		var issuer string
		issuer = newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(map[string]string{"issuer": issuer, "jwks_uri": issuer + "/keys", "token_endpoint": "http://[::1]:9/token"})
		}))
		if _, err := (&flow.Discovery{Issuer: issuer, HTTP: &http.Client{}}).Metadata(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}
