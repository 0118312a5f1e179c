package flow

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

// wlNow is the fixed time of the workload tests.
var wlNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	wlKeyOnce sync.Once
	wlKey     *rsa.PrivateKey
)

// wlSigningKey returns the throwaway RSA key of the tests, made once.
func wlSigningKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	wlKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatalf("could not generate a key: %v", err)
		}
		wlKey = k
	})
	if wlKey == nil {
		t.Fatal("no signing key")
	}
	return wlKey
}

// wlMint signs claims with a throwaway RS256 key, as an identity provider would.
func wlMint(t *testing.T, claims map[string]any) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: wlSigningKey(t)},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "test"))
	if err != nil {
		t.Fatalf("could not build the signer: %v", err)
	}
	raw, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatalf("could not sign the token: %v", err)
	}
	return raw
}

// wlValid mints a token for aud that expires an hour after wlNow.
func wlValid(t *testing.T, sub, aud string) string {
	t.Helper()
	return wlMint(t, map[string]any{
		"iss": "https://issuer.example", "sub": sub, "aud": aud,
		"iat": wlNow.Add(-time.Minute).Unix(), "exp": wlNow.Add(time.Hour).Unix(),
	})
}

// wlExpired mints a token for aud that expired a minute before wlNow.
func wlExpired(t *testing.T, aud string) string {
	t.Helper()
	return wlMint(t, map[string]any{
		"iss": "https://issuer.example", "sub": "old", "aud": aud,
		"iat": wlNow.Add(-2 * time.Hour).Unix(), "exp": wlNow.Add(-time.Minute).Unix(),
	})
}

// wlEnv is an environment made of vars.
func wlEnv(vars map[string]string) Env {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// wlOptions returns options with a fixed clock, the given environment and a
// sleeper that fails the test: sources that do not retry must not sleep.
func wlOptions(t *testing.T, vars map[string]string) WorkloadOptions {
	t.Helper()
	return WorkloadOptions{
		Env:   wlEnv(vars),
		Clock: clock.Fake(wlNow),
		Sleep: func(ctx context.Context, d time.Duration) error {
			t.Errorf("unexpected sleep of %s", d)
			return nil
		},
	}
}

// wlAssertFailure checks that err is a non-zero-exit error whose message has
// every string of want and none of secrets.
func wlAssertFailure(t *testing.T, err error, want []string, secrets []string) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error")
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error %q leaks a secret", msg)
		}
	}
	if code := apperr.ExitCode(err); code == 0 {
		t.Errorf("exit code = 0 for %q", msg)
	}
}

// wlAssertCause checks that err is a WorkloadError of cause want, with exit
// 4 exactly for a token that was read and refused, and no advice: the
// caller chooses that.
func wlAssertCause(t *testing.T, err error, want WorkloadCause) {
	t.Helper()
	var werr *WorkloadError
	if !errors.As(err, &werr) || werr.Cause != want {
		t.Errorf("error %v is not a *WorkloadError with cause %d", err, want)
	}
	if denied := want == CauseRejected || want == CauseExpired; denied != (apperr.ExitCode(err) == 4) || apperr.HintOf(err) != "" {
		t.Errorf("exit %d, hint %q; want exit 4 = %v and no advice from the source", apperr.ExitCode(err), apperr.HintOf(err), denied)
	}
}
