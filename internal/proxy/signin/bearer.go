package signin

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/dagster-oidc/dagster-oidc/internal/flow"
)

func urlEscape(s string) string { return url.QueryEscape(s) }

// ErrUntrustedIssuer is returned for a bearer token from an issuer that is
// not trusted.
var ErrUntrustedIssuer = errors.New("the token's issuer is not trusted by this proxy")

// Bearer verifies `Authorization: Bearer <ID token>` from any of the
// trusted issuers.
type Bearer struct {
	Issuers []*Issuer
}

// Verify picks the issuers the token names (read unverified, only to
// choose whose keys to check it with) and verifies it fully with each one's
// keys and audience until one accepts it.
func (b *Bearer) Verify(ctx context.Context, raw string) (*flow.Claims, error) {
	claims, _, err := flow.PeekClaims(raw)
	if err != nil {
		return nil, err
	}
	iss, _ := claims["iss"].(string)
	err = ErrUntrustedIssuer
	for _, i := range b.Issuers {
		if i.URL != iss {
			continue
		}
		// One issuer may be trusted for several audiences.
		var c *flow.Claims
		if c, err = i.Verify(ctx, raw, ""); err == nil {
			return c, nil
		}
	}
	return nil, err
}

// FromHeader returns the token of an `Authorization: Bearer` header value,
// and whether the header is a bearer one.
func FromHeader(h string) (string, bool) {
	const prefix = "bearer "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(h[len(prefix):]), true
}
