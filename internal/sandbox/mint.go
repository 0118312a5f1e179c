package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// DefaultMintSubject is the sub of tokens minted without one.
const DefaultMintSubject = "system:serviceaccount:dagster:run-worker"

// MintIDToken signs an RS256 JWT with the provider's own key (the one in its
// JWKS), for workload identity and negative tests. Defaults: iss Issuer(),
// sub DefaultMintSubject, aud ClientID(), iat now, exp now+lifetime
// (IDTokenLifetime when lifetime is 0; a negative lifetime gives an expired
// token). claims override the defaults; a nil value removes a claim.
func (s *Server) MintIDToken(claims map[string]any, lifetime time.Duration) (string, error) {
	if lifetime == 0 {
		lifetime = s.opts.IDTokenLifetime
	}
	now := s.opts.Clock.Now()
	c := map[string]any{
		"iss": s.issuer, "sub": DefaultMintSubject, "aud": s.opts.ClientID,
		"iat": now.Unix(), "exp": now.Add(lifetime).Unix(),
	}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("could not encode the claims: %w", err)
	}
	key, err := s.store.SigningKey(context.Background())
	if err != nil {
		return "", fmt.Errorf("could not read the signing key: %w", err)
	}
	signer, err := op.SignerFromKey(key)
	if err != nil {
		return "", fmt.Errorf("could not make a signer: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("could not sign the token: %w", err)
	}
	tok, err := jws.CompactSerialize()
	if err == nil {
		s.rec.secret("minted_id_token", tok)
	}
	return tok, err
}
