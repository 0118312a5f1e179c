package gcpfake

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

// TestIssuer signs ID tokens with a throwaway ES256 key and verifies them
// with go-oidc over a static key set: a self-contained OpenID provider for
// tests that do not need discovery.
type TestIssuer struct {
	// Issuer is the iss claim.
	Issuer string
	// ClientID is the aud claim and the verifier's expected audience.
	ClientID string

	signer   jose.Signer
	verifier *oidc.IDTokenVerifier
}

// NewTestIssuer creates an issuer with a fresh key; c is the verifier's clock
// (nil means the system clock).
func NewTestIssuer(issuer, clientID string, c clock.Clock) (*TestIssuer, error) {
	if c == nil {
		c = clock.Real{}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("could not generate a signing key: %w", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "test"))
	if err != nil {
		return nil, fmt.Errorf("could not create a signer: %w", err)
	}
	keys := &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{key.Public()}}
	v := oidc.NewVerifier(issuer, keys, &oidc.Config{
		ClientID:             clientID,
		SupportedSigningAlgs: []string{oidc.ES256},
		Now:                  c.Now,
	})
	return &TestIssuer{Issuer: issuer, ClientID: clientID, signer: signer, verifier: v}, nil
}

// Sign returns an ID token for sub, issued now and expiring at exp.
func (i *TestIssuer) Sign(sub string, issuedAt, exp time.Time) (string, error) {
	claims := jwt.Claims{
		Issuer:   i.Issuer,
		Subject:  sub,
		Audience: jwt.Audience{i.ClientID},
		IssuedAt: jwt.NewNumericDate(issuedAt),
		Expiry:   jwt.NewNumericDate(exp),
	}
	raw, err := jwt.Signed(i.signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("could not sign the ID token: %w", err)
	}
	return raw, nil
}

// Verify is a VerifyFunc: it checks signature, issuer, audience and expiry.
func (i *TestIssuer) Verify(ctx context.Context, raw string) (string, error) {
	tok, err := i.verifier.Verify(ctx, raw)
	if err != nil {
		return "", err
	}
	return tok.Subject, nil
}
