package awssts

import (
	"context"
	"errors"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/safehttp"
	"github.com/dagster-oidc/dagster-oidc/internal/testutil/redirect"
)

// TestFinding5_STSRedirectNotFollowed is issue 15.5 for AWS STS: a 307
// from the STS endpoint must not re-send the WebIdentityToken elsewhere.
func TestFinding5_STSRedirectNotFollowed(t *testing.T) {
	p := redirect.New(t)
	rec := &recorder{}
	_, err := rec.client(p.First+"/").AssumeRoleWithWebIdentity(context.Background(), validRequest(), rec.token)
	var re *safehttp.RedirectError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a RedirectError", err)
	}
	if p.Hits() != 0 {
		t.Errorf("%d requests reached the redirect target", p.Hits())
	}
}
