package flow_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

func startSandbox(t *testing.T) *sandbox.Server {
	t.Helper()
	sb, err := sandbox.Start(t.Context(), sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

func TestVerifierAgainstSandboxKeys(t *testing.T) {
	sb := startSandbox(t)
	d := &flow.Discovery{Issuer: sb.Issuer(), HTTP: http.DefaultClient, Dir: t.TempDir()}
	m, err := d.Metadata(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	v := &flow.Verifier{Issuer: sb.Issuer(), Audience: sb.ClientID(), Keys: d.KeySet(m.JWKSURL), Clock: clock.Real{}, Skew: 30 * time.Second}
	mint := func(claims map[string]any) string {
		tok, err := sb.MintIDToken(claims, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := mint(map[string]any{"sub": "alice", "email": "alice@example.com", "nonce": "n-1"})
	c, err := v.Verify(t.Context(), good, "n-1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || c.Email != "alice@example.com" || c.All["email"] != "alice@example.com" {
		t.Errorf("claims = %+v", c)
	}
	tests := []struct {
		name, token, nonce, reason string
	}{
		{"nonce mismatch", good, "other", flow.ReasonNonce},
		{"wrong issuer", mint(map[string]any{"iss": "https://evil.example.com"}), "", flow.ReasonIssuer},
		{"wrong audience", mint(map[string]any{"aud": "other"}), "", flow.ReasonAudience},
		{"expired", mint(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}), "", flow.ReasonExpired},
		{"not a JWT", "abc.def", "", flow.ReasonMalformed},
		{"tampered", good[:len(good)-4] + "AAAA", "", flow.ReasonSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), tt.token, tt.nonce)
			var ve *flow.VerificationError
			if !errors.As(err, &ve) || ve.Reason != tt.reason {
				t.Fatalf("err = %v, want reason %s", err, tt.reason)
			}
			if apperr.ExitCode(err) != 4 {
				t.Errorf("exit code %d, want 4", apperr.ExitCode(err))
			}
			if strings.Contains(err.Error(), strings.Split(tt.token, ".")[0]+".") {
				t.Errorf("error echoes the token: %v", err)
			}
		})
	}
	t.Run("skew allowance", func(t *testing.T) {
		late := &flow.Verifier{Issuer: sb.Issuer(), Audience: sb.ClientID(), Keys: d.KeySet(m.JWKSURL), Skew: 2 * time.Minute,
			Clock: clock.Fake(time.Now().Add(time.Hour + time.Minute))}
		if _, err := late.Verify(t.Context(), good, ""); err != nil {
			t.Errorf("a token 1m past exp within 2m skew was refused: %v", err)
		}
	})
}

func TestDiscoveryCacheServesWithoutNetwork(t *testing.T) {
	sb := startSandbox(t)
	dir := t.TempDir()
	d := &flow.Discovery{Issuer: sb.Issuer(), HTTP: http.DefaultClient, Dir: dir}
	if _, err := d.Metadata(t.Context()); err != nil {
		t.Fatal(err)
	}
	sb.Close()
	if _, err := d.Metadata(t.Context()); err != nil {
		t.Errorf("cached discovery not used: %v", err)
	}
	stale := &flow.Discovery{Issuer: sb.Issuer(), HTTP: http.DefaultClient, Dir: dir, Clock: clock.Fake(time.Now().Add(48 * time.Hour))}
	if _, err := stale.Metadata(t.Context()); err == nil {
		t.Error("a discovery document older than its TTL was served")
	}
}

func TestDiscoveryBadInput(t *testing.T) {
	tests := []struct {
		name string
		h    http.HandlerFunc
		want string
	}{
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }, "not JSON"},
		{"huge", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 2<<20)) }, "larger than 1 MiB"},
		{"500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, "answered HTTP 500"},
		{"issuer mismatch", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"issuer":"https://other.example","jwks_uri":"x"}`))
		}, "issuer mismatch"},
		{"slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, "timed out waiting for an answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.h)
			d := &flow.Discovery{Issuer: srv, HTTP: &http.Client{Timeout: 200 * time.Millisecond}}
			_, err := d.Metadata(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestAlso_AZPCheckedWithSeveralAudiences: OpenID Connect Core §3.1.3.7
// items 4-5, from issue 15's "Also" list.
func TestAlso_AZPCheckedWithSeveralAudiences(t *testing.T) {
	sb := startSandbox(t)
	d := &flow.Discovery{Issuer: sb.Issuer(), HTTP: http.DefaultClient}
	m, err := d.Metadata(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	v := &flow.Verifier{Issuer: sb.Issuer(), Audience: sb.ClientID(), Keys: d.KeySet(m.JWKSURL), Clock: clock.Real{}, Skew: 30 * time.Second}
	tests := []struct {
		name   string
		claims map[string]any
		ok     bool
	}{
		{"one audience, no azp", map[string]any{}, true},
		{"one audience, azp is this client", map[string]any{"azp": sb.ClientID()}, true},
		{"several audiences, azp is this client", map[string]any{"aud": []string{sb.ClientID(), "api://data"}, "azp": sb.ClientID()}, true},
		{"several audiences, no azp", map[string]any{"aud": []string{sb.ClientID(), "api://data"}}, false},
		{"azp names another client", map[string]any{"azp": "dagster-web"}, false},
		{"several audiences, azp names another client", map[string]any{"aud": []string{sb.ClientID(), "dagster-web"}, "azp": "dagster-web"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := sb.MintIDToken(tt.claims, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(t.Context(), tok, "")
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ve *flow.VerificationError
			if !errors.As(err, &ve) || ve.Reason != flow.ReasonAuthorizedParty {
				t.Fatalf("err = %v, want reason %s", err, flow.ReasonAuthorizedParty)
			}
			if apperr.ExitCode(err) != 4 {
				t.Errorf("exit code %d, want 4", apperr.ExitCode(err))
			}
		})
	}
}
