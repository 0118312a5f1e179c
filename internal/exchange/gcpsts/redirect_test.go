package gcpsts_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/exchange/gcpsts"
	"github.com/dagster-oidc/dagster-oidc/internal/safehttp"
	"github.com/dagster-oidc/dagster-oidc/internal/testutil/redirect"
)

// TestFinding5_GoogleSTSRedirectNotFollowed is issue 15.5 for Google STS:
// a 307 from the token URL must not re-send the subject token elsewhere.
func TestFinding5_GoogleSTSRedirectNotFollowed(t *testing.T) {
	p := redirect.New(t)
	c := &gcpsts.Client{HTTP: &http.Client{}, TokenURL: p.First + "/v1/token"}
	_, err := c.Exchange(context.Background(), gcpsts.Request{Audience: testAudience, SubjectToken: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"})
	var re *safehttp.RedirectError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a RedirectError", err)
	}
	if p.Hits() != 0 {
		t.Errorf("%d requests reached the redirect target", p.Hits())
	}
}

// TestFinding5_GoogleImpersonationRedirectNotFollowed: a 307 from IAM
// Credentials must not re-send the federated access token (a bearer
// header) elsewhere.
func TestFinding5_GoogleImpersonationRedirectNotFollowed(t *testing.T) {
	f := newFixture(t)
	p := redirect.New(t)
	f.client.ImpersonationURLBase = p.First + "/v1"
	_, err := f.client.Exchange(context.Background(), gcpsts.Request{Audience: testAudience, ServiceAccount: testSA, SubjectToken: f.idToken(t, testNow.Add(time.Hour))})
	var re *safehttp.RedirectError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a RedirectError", err)
	}
	if p.Hits() != 0 {
		t.Errorf("%d requests reached the redirect target", p.Hits())
	}
}
