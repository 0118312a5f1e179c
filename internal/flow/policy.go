package flow

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

// Policy is how one profile checks ID tokens: the verification mode, the
// issuer and audience every token must carry, and the environment binding.
// It is the only place that decides whether a token is accepted.
type Policy struct {
	// Mode applies to workload tokens; human logins are always verified
	// (their source is interactive, see Verify).
	Mode VerifyMode
	// Issuer must equal the token's iss ("" only with VerifyOff).
	Issuer string
	// Audience must be among the token's aud: a workload profile's
	// workload.audience, else the profile's audience, else its client_id.
	Audience string
	// Environment is the profile's; Foreign are the audiences of profiles
	// of other environments, which a token of this profile MUST NOT carry.
	Environment string
	Foreign     []ForeignAudience
	Clock       clock.Clock
	// Skew is how far past exp a token is still accepted.
	Skew time.Duration
	// Keys returns the issuer's key set and signing algorithms; an error
	// means the issuer (or its discovery document) cannot be reached.
	Keys func(ctx context.Context) (oidc.KeySet, []string, error)
}

// ForeignAudience is the audience of a profile of another environment.
type ForeignAudience struct {
	Audience, Profile, Environment string
}

// Verified is a token the policy accepted.
type Verified struct {
	Claims *Claims
	// Unverified says why the signature was not checked ("" when it was):
	// verify: off, or verify: when-reachable with the issuer unreachable.
	// Such a token MUST NOT be stored, and its use is reported.
	Unverified string
}

// Verify checks raw from source: with go-oidc (signature, iss, aud, exp,
// nonce when non-empty) unless the mode allows otherwise for a workload
// source, and then iss, aud and exp without the signature. Every path
// checks the environment binding.
func (p *Policy) Verify(ctx context.Context, source, raw, nonce string) (*Verified, error) {
	mode := VerifyRequired
	if IsWorkload(source) {
		mode = p.Mode
	}
	if mode == VerifyOff {
		return p.unchecked(raw, "verify: off")
	}
	keys, algs, err := p.Keys(ctx)
	if err != nil {
		if mode == VerifyWhenReachable {
			return p.unchecked(raw, fmt.Sprintf("the issuer could not be reached (%v) and the profile says verify: when-reachable", err))
		}
		return nil, err
	}
	v := &Verifier{Issuer: p.Issuer, Audience: p.Audience, Keys: keys, Clock: p.Clock, Skew: p.Skew, Algorithms: algs}
	claims, err := v.Verify(ctx, raw, nonce)
	if err != nil {
		if mode == VerifyWhenReachable && apperr.KindOf(err) != apperr.KindDenied {
			// The keys could not be fetched: the signature is unknown, not bad.
			return p.unchecked(raw, fmt.Sprintf("the issuer's keys could not be fetched (%v) and the profile says verify: when-reachable", err))
		}
		return nil, err
	}
	if err := p.checkEnvironment(claims); err != nil {
		return nil, err
	}
	return &Verified{Claims: claims}, nil
}

// unchecked accepts raw without its signature after checking iss, aud, exp
// and the environment binding, exactly as a verified token would be.
func (p *Policy) unchecked(raw, why string) (*Verified, error) {
	all, exp, err := PeekClaims(raw)
	if err != nil {
		return nil, deny(&VerificationError{Reason: ReasonMalformed, Detail: err.Error(), Err: err})
	}
	c := ClaimsFromMap(all, exp)
	now := time.Now()
	if p.Clock != nil {
		now = p.Clock.Now()
	}
	switch {
	case exp.IsZero():
		return nil, deny(&VerificationError{Reason: ReasonExpired, Detail: "the token has no exp claim"})
	case !exp.Add(p.Skew).After(now):
		return nil, deny(&VerificationError{Reason: ReasonExpired, Detail: fmt.Sprintf("expired at %s (allowed clock skew %s)", exp.UTC().Format(time.RFC3339), p.Skew)})
	case p.Issuer != "" && c.Issuer != p.Issuer:
		return nil, deny(&VerificationError{Reason: ReasonIssuer, Detail: fmt.Sprintf("issued by %q, expected %q", c.Issuer, p.Issuer)})
	case p.Audience != "" && !slices.Contains(c.Audience, p.Audience):
		return nil, deny(&VerificationError{Reason: ReasonAudience, Detail: fmt.Sprintf("audience %q does not include %q", c.Audience, p.Audience)})
	}
	if err := p.checkEnvironment(c); err != nil {
		return nil, err
	}
	return &Verified{Claims: c, Unverified: why}, nil
}

// checkEnvironment refuses a token meant for a profile of another
// environment: one whose audience is that profile's, even when the same IdP
// issues both (a dev token is never used for prod).
func (p *Policy) checkEnvironment(c *Claims) error {
	for _, f := range p.Foreign {
		if f.Environment == p.Environment || f.Audience == p.Audience || f.Audience == "" {
			continue
		}
		if slices.Contains(c.Audience, f.Audience) {
			return apperr.Denied(&VerificationError{Reason: ReasonEnvironment,
				Detail: fmt.Sprintf("its audience %q belongs to profile %q of environment %q, not to environment %q", f.Audience, f.Profile, f.Environment, p.Environment)},
				"log in with the profile of the environment you want")
		}
	}
	return nil
}

// ClaimsFromMap builds Claims from a decoded payload.
func ClaimsFromMap(all map[string]any, exp time.Time) *Claims {
	c := &Claims{All: all, Expiry: exp}
	c.Issuer, _ = all["iss"].(string)
	c.Subject, _ = all["sub"].(string)
	c.Email, _ = all["email"].(string)
	switch a := all["aud"].(type) {
	case string:
		c.Audience = []string{a}
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok {
				c.Audience = append(c.Audience, s)
			}
		}
	}
	if iat, ok := all["iat"].(float64); ok {
		c.IssuedAt = time.Unix(int64(iat), 0)
	}
	return c
}
