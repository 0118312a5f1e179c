package flow

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

// Claims are the verified claims of an ID token.
type Claims struct {
	Issuer   string
	Subject  string
	Audience []string
	Expiry   time.Time
	IssuedAt time.Time
	Email    string
	// All holds every claim, for policy decisions. It is never logged whole.
	All map[string]any
}

// Verifier checks ID tokens with go-oidc: signature against the issuer's
// keys, iss, aud, exp (with a clock-skew allowance) and, when given, nonce.
type Verifier struct {
	Issuer   string
	Audience string
	Keys     oidc.KeySet
	Clock    clock.Clock
	// Skew is how far past exp a token is still accepted.
	Skew time.Duration
	// Algorithms allowed; default RS256 and ES256. Never none or HMAC.
	Algorithms []string
}

// Reasons a token fails verification; each maps to a distinct message.
const (
	ReasonExpired    = "expired"
	ReasonIssuer     = "wrong_issuer"
	ReasonAudience   = "wrong_audience"
	ReasonSignature  = "bad_signature"
	ReasonAlgNone    = "alg_none"
	ReasonAlgDenied  = "alg_not_allowed"
	ReasonMalformed  = "malformed"
	ReasonNonce      = "nonce_mismatch"
	ReasonKeysFailed = "keys_unavailable"
	// ReasonNotYetValid: nbf is in the future (the clock may be behind).
	ReasonNotYetValid = "not_yet_valid"
	// ReasonEnvironment: the token belongs to another environment's profile.
	ReasonEnvironment = "other_environment"
	// ReasonAuthorizedParty: azp names another client, or the token has
	// several audiences and no azp (OpenID Connect Core §3.1.3.7 items 4-5).
	ReasonAuthorizedParty = "wrong_authorized_party"
)

// VerificationError says why a token was refused. It never holds the token.
type VerificationError struct {
	Reason string
	Detail string
	Err    error
}

// Error returns a one-line explanation.
func (e *VerificationError) Error() string { return "ID token refused: " + e.Detail }

// Unwrap returns the underlying library error.
func (e *VerificationError) Unwrap() error { return e.Err }

// Verify checks raw and returns its claims. nonce is checked when non-empty.
// Failures are *VerificationError wrapped as apperr.Denied (exit 4), except
// an unreachable key set, which is an ordinary error.
func (v *Verifier) Verify(ctx context.Context, raw, nonce string) (*Claims, error) {
	algs := v.Algorithms
	if len(algs) == 0 {
		algs = []string{oidc.RS256, oidc.ES256}
	}
	now := time.Now
	if v.Clock != nil {
		now = v.Clock.Now
	}
	skew := v.Skew
	verifier := oidc.NewVerifier(v.Issuer, v.Keys, &oidc.Config{
		ClientID:             v.Audience,
		SupportedSigningAlgs: algs,
		Now:                  func() time.Time { return now().Add(-skew) },
	})
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		return nil, v.classify(raw, err)
	}
	if nonce != "" && tok.Nonce != nonce {
		return nil, deny(&VerificationError{Reason: ReasonNonce, Detail: "nonce does not match the one this login sent (replayed or mixed-up response)"})
	}
	var all map[string]any
	if err := tok.Claims(&all); err != nil {
		return nil, deny(&VerificationError{Reason: ReasonMalformed, Detail: "claims are not a JSON object", Err: err})
	}
	if err := v.checkAZP(tok.Audience, all); err != nil {
		return nil, err
	}
	c := &Claims{Issuer: tok.Issuer, Subject: tok.Subject, Audience: tok.Audience, Expiry: tok.Expiry, IssuedAt: tok.IssuedAt, All: all}
	if e, ok := all["email"].(string); ok {
		c.Email = e
	}
	return c, nil
}

// checkAZP applies OpenID Connect Core §3.1.3.7 items 4 and 5: a token for
// several audiences must name the party it was issued to in azp, and an azp
// that is present must be this client.
func (v *Verifier) checkAZP(aud []string, claims map[string]any) error {
	azp, has := claims["azp"]
	s, _ := azp.(string)
	switch {
	case has && s != v.Audience:
		return deny(&VerificationError{Reason: ReasonAuthorizedParty, Detail: fmt.Sprintf("authorized party (azp) %q is not this client %q: the token was issued to another application", s, v.Audience)})
	case !has && len(aud) > 1:
		return deny(&VerificationError{Reason: ReasonAuthorizedParty, Detail: fmt.Sprintf("the token is for several audiences %v and names no authorized party (azp)", aud)})
	}
	return nil
}

// deny is a refusal (exit 4). It carries no hint: the caller knows whether
// a person or a pod reads it (session gives logins theirs, the proxy none).
func deny(e *VerificationError) error {
	return apperr.Denied(e, "")
}

// classify turns a go-oidc error into a distinct, token-free explanation.
func (v *Verifier) classify(raw string, err error) error {
	var expired *oidc.TokenExpiredError
	if errors.As(err, &expired) {
		return deny(&VerificationError{Reason: ReasonExpired, Detail: fmt.Sprintf("expired at %s (allowed clock skew %s)", expired.Expiry.UTC().Format(time.RFC3339), v.Skew), Err: err})
	}
	hdr, claims, perr := peekJWT(raw)
	if perr != nil {
		return deny(&VerificationError{Reason: ReasonMalformed, Detail: "not a well-formed JWT", Err: err})
	}
	alg, _ := hdr["alg"].(string)
	switch {
	case strings.EqualFold(alg, "none"):
		return deny(&VerificationError{Reason: ReasonAlgNone, Detail: "unsigned token (alg none)", Err: err})
	case strings.HasPrefix(strings.ToUpper(alg), "HS"):
		return deny(&VerificationError{Reason: ReasonAlgDenied, Detail: fmt.Sprintf("symmetric algorithm %s is never accepted for ID tokens", alg), Err: err})
	}
	allowed := v.Algorithms
	if len(allowed) == 0 {
		allowed = []string{oidc.RS256, oidc.ES256}
	}
	if !containsString(allowed, alg) {
		return deny(&VerificationError{Reason: ReasonAlgDenied, Detail: fmt.Sprintf("algorithm %q is not allowed (allowed: %s)", alg, strings.Join(allowed, ", ")), Err: err})
	}
	if iss, _ := claims["iss"].(string); iss != v.Issuer {
		return deny(&VerificationError{Reason: ReasonIssuer, Detail: fmt.Sprintf("issued by %q, expected %q", iss, v.Issuer), Err: err})
	}
	if !audienceContains(claims["aud"], v.Audience) {
		return deny(&VerificationError{Reason: ReasonAudience, Detail: fmt.Sprintf("audience %v does not include %q", claims["aud"], v.Audience), Err: err})
	}
	if nbf, ok := claims["nbf"].(float64); ok && strings.Contains(err.Error(), "nbf") {
		return deny(&VerificationError{Reason: ReasonNotYetValid, Detail: fmt.Sprintf("not valid before %s (nbf); this machine's clock may be behind", time.Unix(int64(nbf), 0).UTC().Format(time.RFC3339)), Err: err})
	}
	if fe, ok := v.Keys.(interface{ FetchError() error }); ok && fe.FetchError() != nil {
		return fmt.Errorf("could not verify the ID token: %w", fe.FetchError())
	}
	return deny(&VerificationError{Reason: ReasonSignature, Detail: "signature does not verify against the issuer's published keys", Err: err})
}

func audienceContains(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		for _, x := range a {
			if s, _ := x.(string); s == want {
				return true
			}
		}
	}
	return false
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// peekJWT decodes a JWT's header and payload without verifying anything. It
// is used only to explain a failed verification and to read exp for display.
func peekJWT(raw string) (header, claims map[string]any, err error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, nil, errors.New("not a JWT")
	}
	dec := func(s string, v any) error {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, v)
	}
	if err := dec(parts[0], &header); err != nil {
		return nil, nil, errors.New("JWT header is not base64url JSON")
	}
	if err := dec(parts[1], &claims); err != nil {
		return nil, nil, errors.New("JWT payload is not base64url JSON")
	}
	return header, claims, nil
}
