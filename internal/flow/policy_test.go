package flow_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
)

// forge flips a byte of the token's signature.
func forge(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sig[0] ^= 0xff
	return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// TestFinding15_2WhenReachableChecksIssAudExpOnEveryPath: with the issuer
// unreachable, verify: when-reachable accepts a token only after checking
// iss, aud and exp, and says it was not signature-checked; once the issuer
// answers, the same forged token is refused.
func TestFinding15_2WhenReachableChecksIssAudExpOnEveryPath(t *testing.T) {
	sb := startSandbox(t)
	d := &flow.Discovery{Issuer: sb.Issuer(), HTTP: http.DefaultClient, Dir: t.TempDir()}
	down := true
	pol := &flow.Policy{
		Mode: flow.VerifyWhenReachable, Issuer: sb.Issuer(), Audience: "dagster-oidc", Environment: "prod",
		Foreign: []flow.ForeignAudience{{Audience: "dagster-dev", Profile: "dev", Environment: "dev"}},
		Clock:   clock.Real{}, Skew: 30 * time.Second,
		Keys: func(ctx context.Context) (oidc.KeySet, []string, error) {
			if down {
				return nil, nil, errors.New("connection refused")
			}
			m, err := d.Metadata(ctx)
			if err != nil {
				return nil, nil, err
			}
			return d.KeySet(m.JWKSURL), m.Algorithms, nil
		},
	}
	mint := func(claims map[string]any) string {
		claims["sub"] = "system:serviceaccount:dagster:run"
		tok, err := sb.MintIDToken(claims, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return forge(t, tok)
	}
	forged := mint(map[string]any{"aud": "dagster-oidc"})
	v, err := pol.Verify(t.Context(), flow.SourceKubernetes, forged, "")
	if err != nil {
		t.Fatalf("issuer down: %v", err)
	}
	if v.Unverified == "" || !strings.Contains(v.Unverified, "connection refused") {
		t.Errorf("Unverified = %q, want the reason", v.Unverified)
	}
	for _, tt := range []struct{ name, token, reason string }{
		{"wrong issuer", mint(map[string]any{"aud": "dagster-oidc", "iss": "https://evil.example.com"}), flow.ReasonIssuer},
		{"wrong audience", mint(map[string]any{"aud": "someone-else"}), flow.ReasonAudience},
		{"expired", mint(map[string]any{"aud": "dagster-oidc", "exp": time.Now().Add(-time.Hour).Unix()}), flow.ReasonExpired},
		{"another environment's", mint(map[string]any{"aud": []string{"dagster-oidc", "dagster-dev"}}), flow.ReasonEnvironment},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pol.Verify(t.Context(), flow.SourceKubernetes, tt.token, "")
			var ve *flow.VerificationError
			if !errors.As(err, &ve) || ve.Reason != tt.reason || apperr.ExitCode(err) != 4 {
				t.Errorf("err = %v, want reason %s and exit 4", err, tt.reason)
			}
		})
	}
	// A human login is always verified: an unreachable issuer fails it.
	if _, err := pol.Verify(t.Context(), flow.SourceDevice, forged, ""); err == nil {
		t.Error("a device login was accepted without its issuer")
	}
	down = false
	if _, err := pol.Verify(t.Context(), flow.SourceKubernetes, forged, ""); apperr.ExitCode(err) != 4 {
		t.Errorf("issuer back, forged token: err = %v, want a refusal", err)
	}
}

// TestFinding16_1VerifierUsesTheWorkloadAudience: the audience a workload
// profile asks for (workload.audience) is the one the verifier requires,
// with no client_id in the profile.
func TestFinding16_1VerifierUsesTheWorkloadAudience(t *testing.T) {
	sb := startSandbox(t)
	d := &flow.Discovery{Issuer: sb.Issuer(), HTTP: http.DefaultClient, Dir: t.TempDir()}
	pol := &flow.Policy{Mode: flow.VerifyRequired, Issuer: sb.Issuer(), Audience: "dagster-oidc", Clock: clock.Real{},
		Keys: func(ctx context.Context) (oidc.KeySet, []string, error) {
			m, err := d.Metadata(ctx)
			if err != nil {
				return nil, nil, err
			}
			return d.KeySet(m.JWKSURL), m.Algorithms, nil
		}}
	tok, err := sb.MintIDToken(map[string]any{"sub": "system:serviceaccount:dagster:run", "aud": "dagster-oidc"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	v, err := pol.Verify(t.Context(), flow.SourceKubernetes, tok, "")
	if err != nil || v.Unverified != "" || v.Claims.Subject != "system:serviceaccount:dagster:run" {
		t.Fatalf("%+v %v", v, err)
	}
}
