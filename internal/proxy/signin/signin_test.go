package signin

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

func TestFromHeader(t *testing.T) {
	for h, want := range map[string]string{"Bearer abc": "abc", "bearer  abc ": "abc", "BEARER x.y.z": "x.y.z"} {
		if got, ok := FromHeader(h); !ok || got != want {
			t.Errorf("FromHeader(%q) = %q, %v", h, got, ok)
		}
	}
	for _, h := range []string{"", "Basic abc", "Bearer", "Bearerabc"} {
		if _, ok := FromHeader(h); ok {
			t.Errorf("FromHeader(%q) took it for a bearer token", h)
		}
	}
}

func TestBearerPicksTheTrustedIssuer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	b := &Bearer{Issuers: []*Issuer{
		{URL: sb.Issuer(), Audience: "ci-audience"},
		{URL: sb.Issuer(), Audience: sb.ClientID()},
	}}
	for _, aud := range []string{"ci-audience", sb.ClientID()} {
		tok, _ := sb.MintIDToken(map[string]any{"aud": aud}, time.Minute)
		if c, err := b.Verify(ctx, tok); err != nil || c.Subject != sandbox.DefaultMintSubject {
			t.Errorf("audience %s: %v", aud, err)
		}
	}
	tok, _ := sb.MintIDToken(map[string]any{"aud": "other"}, time.Minute)
	if _, err := b.Verify(ctx, tok); err == nil || !strings.Contains(err.Error(), "audience") {
		t.Errorf("another audience: %v", err)
	}
	tok, _ = sb.MintIDToken(map[string]any{"iss": "https://elsewhere.example"}, time.Minute)
	if _, err := b.Verify(ctx, tok); !errors.Is(err, ErrUntrustedIssuer) {
		t.Errorf("untrusted issuer: %v", err)
	}
	c := &Client{Issuer: b.Issuers[1], ClientID: sb.ClientID()}
	if u := c.LogoutURL(ctx, "http://127.0.0.1:1/_dagster-oidc/signed_out"); !strings.HasPrefix(u, sb.Issuer()) || !strings.Contains(u, "client_id="+sb.ClientID()) || !strings.Contains(u, "post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2F_dagster-oidc%2Fsigned_out") {
		t.Errorf("LogoutURL = %q", u)
	}
}
