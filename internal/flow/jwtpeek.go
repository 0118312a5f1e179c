package flow

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ErrNotJWT is returned for a token that is not a compact, signed JWT. Its
// messages never echo the input, which may be a secret.
var ErrNotJWT = errors.New("not a signed JWT")

// peekAlgorithms are the signature algorithms PeekClaims accepts. The
// signature is not checked here (verification is go-oidc's job); the list only
// rejects "none" and symmetric algorithms, which no identity provider uses for
// ID tokens.
var peekAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// peekResult is what an unverified parse of a JWT tells.
type peekResult struct {
	claims   map[string]any
	standard jwt.Claims
}

// expiry returns the exp claim, or the zero time when there is none.
func (p peekResult) expiry() time.Time {
	if p.standard.Expiry == nil {
		return time.Time{}
	}
	return p.standard.Expiry.Time()
}

// PeekClaims parses raw as a compact signed JWT WITHOUT verifying it and
// returns its claims and its exp claim (zero when absent). It exists to read
// expiry and to display claims; it MUST NOT be used to make a trust decision,
// which is the verifier's job. Errors wrap ErrNotJWT and never contain raw.
func PeekClaims(raw string) (map[string]any, time.Time, error) {
	p, err := peekSigned(raw)
	if err != nil {
		return nil, time.Time{}, err
	}
	return p.claims, p.expiry(), nil
}

// peekSigned does the unverified parse behind PeekClaims.
func peekSigned(raw string) (peekResult, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return peekResult{}, fmt.Errorf("%w: the token is empty", ErrNotJWT)
	}
	// A compact JWS has exactly three dot-separated parts; a JWE has five.
	if strings.Count(raw, ".") != 2 {
		return peekResult{}, fmt.Errorf("%w: the token does not have three dot-separated parts", ErrNotJWT)
	}
	// go-jose's parse errors are not wrapped: a JSON syntax error can quote a
	// character of the input.
	tok, err := jwt.ParseSigned(raw, peekAlgorithms)
	if err != nil {
		if hdr, _, herr := peekJWT(raw); herr == nil {
			switch alg, _ := hdr["alg"].(string); {
			case strings.EqualFold(alg, "none"):
				return peekResult{}, fmt.Errorf("%w: unsigned token (alg none)", ErrNotJWT)
			case strings.HasPrefix(strings.ToUpper(alg), "HS"):
				return peekResult{}, fmt.Errorf("%w: symmetric algorithm %s is never accepted for ID tokens", ErrNotJWT, alg)
			}
		}
		return peekResult{}, fmt.Errorf("%w: the header or signature cannot be parsed, or the algorithm is not an asymmetric one", ErrNotJWT)
	}
	var p peekResult
	if err := tok.UnsafeClaimsWithoutVerification(&p.claims, &p.standard); err != nil {
		return peekResult{}, fmt.Errorf("%w: the payload is not a JSON claims set", ErrNotJWT)
	}
	if p.claims == nil {
		return peekResult{}, fmt.Errorf("%w: the payload is not a JSON claims set", ErrNotJWT)
	}
	return p, nil
}
