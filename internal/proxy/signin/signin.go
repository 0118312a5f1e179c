// Package signin is the proxy's side of OpenID Connect: the authorization
// code flow with PKCE, state and nonce for browsers, the refresh of a
// session's ID token, RP-initiated logout, and the verification of bearer ID
// tokens from trusted issuers. Every token is verified by go-oidc through
// internal/flow's Verifier, whatever path it arrives by.
package signin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/safehttp"
)

// Issuer is one OpenID provider whose ID tokens the proxy accepts for an
// audience. Discovery and the key set are fetched on first use (and again
// after a failure), not at start, so that the proxy starts while the IdP is
// down.
type Issuer struct {
	URL      string
	Audience string
	HTTP     *http.Client
	Clock    clock.Clock
	Skew     time.Duration

	mu       sync.Mutex
	provider *oidc.Provider
	verifier *flow.Verifier
	endSess  string
}

// discover fetches the discovery document once it has succeeded.
func (i *Issuer) discover(ctx context.Context) (*oidc.Provider, *flow.Verifier, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.provider != nil {
		return i.provider, i.verifier, nil
	}
	// The key set outlives this request: it refetches keys on an unknown
	// kid, with the client given here.
	// Discovery and keys are GETs that may move within the issuer's origin;
	// nothing else is followed (issue 15.5).
	get := safehttp.SameOriginGETs(i.HTTP)
	bg := oidc.ClientContext(context.WithoutCancel(ctx), get)
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, get), i.URL)
	if err != nil {
		return nil, nil, fmt.Errorf("could not discover the issuer %s: %w", i.URL, err)
	}
	var extra struct {
		Auth       string `json:"authorization_endpoint"`
		Token      string `json:"token_endpoint"`
		JWKS       string `json:"jwks_uri"`
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&extra); err != nil {
		return nil, nil, fmt.Errorf("the discovery document of %s does not decode: %w", i.URL, err)
	}
	// The issuer's rule for every endpoint it names (issue 15.6).
	for _, e := range []struct{ key, url string }{
		{"authorization_endpoint", extra.Auth}, {"token_endpoint", extra.Token},
		{"jwks_uri", extra.JWKS}, {"end_session_endpoint", extra.EndSession},
	} {
		if e.url == "" {
			continue
		}
		if err := safehttp.CheckURL(e.url); err != nil {
			return nil, nil, fmt.Errorf("the discovery document of %s: %s %w", i.URL, e.key, err)
		}
	}
	i.provider, i.endSess = p, extra.EndSession
	i.verifier = &flow.Verifier{Issuer: i.URL, Audience: i.Audience, Keys: oidc.NewRemoteKeySet(bg, extra.JWKS), Clock: i.Clock, Skew: i.Skew}
	return i.provider, i.verifier, nil
}

// Verify checks a raw ID token (signature, iss, aud, exp, nonce when given).
func (i *Issuer) Verify(ctx context.Context, raw, nonce string) (*flow.Claims, error) {
	_, v, err := i.discover(ctx)
	if err != nil {
		return nil, err
	}
	return v.Verify(ctx, raw, nonce)
}

// Client signs people in at the profile's issuer.
type Client struct {
	Issuer       *Issuer
	ClientID     string
	ClientSecret string
	// RedirectURL is the proxy's callback, registered at the IdP.
	RedirectURL string
	Scopes      []string
}

func (c *Client) config(ctx context.Context) (*oauth2.Config, error) {
	p, _, err := c.Issuer.discover(ctx)
	if err != nil {
		return nil, err
	}
	ep := p.Endpoint()
	if c.ClientSecret == "" {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: ep, RedirectURL: c.RedirectURL, Scopes: c.Scopes}, nil
}

// Attempt is one sign-in in progress: what the callback must see again.
type Attempt struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	// Return is the path (and query) to go back to after sign-in.
	Return string `json:"r"`
}

// NewAttempt draws a fresh state, nonce and PKCE verifier.
func NewAttempt(returnTo string) Attempt {
	return Attempt{State: oauth2.GenerateVerifier(), Nonce: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier(), Return: returnTo}
}

// AuthURL is the IdP's authorization URL for the attempt (PKCE S256).
func (c *Client) AuthURL(ctx context.Context, a Attempt) (string, error) {
	cfg, err := c.config(ctx)
	if err != nil {
		return "", err
	}
	return cfg.AuthCodeURL(a.State, oauth2.S256ChallengeOption(a.Verifier), oidc.Nonce(a.Nonce)), nil
}

// Tokens are a verified sign-in or refresh.
type Tokens struct {
	Claims  *flow.Claims
	IDToken string
	// Refresh is the refresh token ("" when the IdP gave none).
	Refresh string
}

// ErrNoIDToken is returned when a token response has no ID token.
var ErrNoIDToken = errors.New("the token response has no id_token")

// Exchange redeems the authorization code and verifies the ID token,
// including its nonce.
func (c *Client) Exchange(ctx context.Context, code string, a Attempt) (*Tokens, error) {
	cfg, err := c.config(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := cfg.Exchange(oidc.ClientContext(ctx, safehttp.NoRedirects(c.Issuer.HTTP)), code, oauth2.VerifierOption(a.Verifier))
	if err != nil {
		return nil, fmt.Errorf("could not redeem the authorization code: %w", tokenError(err))
	}
	return c.verified(ctx, tok, a.Nonce)
}

// Refresh trades a refresh token for a new, verified ID token. An IdP that
// rotates refresh tokens returns a new one; otherwise the old one is kept.
func (c *Client) Refresh(ctx context.Context, refresh string) (*Tokens, error) {
	cfg, err := c.config(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := cfg.TokenSource(oidc.ClientContext(ctx, safehttp.NoRedirects(c.Issuer.HTTP)), &oauth2.Token{RefreshToken: refresh, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		return nil, fmt.Errorf("could not refresh the session: %w", tokenError(err))
	}
	t, err := c.verified(ctx, tok, "")
	if err != nil {
		return nil, err
	}
	if t.Refresh == "" {
		t.Refresh = refresh
	}
	return t, nil
}

func (c *Client) verified(ctx context.Context, tok *oauth2.Token, nonce string) (*Tokens, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, ErrNoIDToken
	}
	claims, err := c.Issuer.Verify(ctx, raw, nonce)
	if err != nil {
		return nil, err
	}
	return &Tokens{Claims: claims, IDToken: raw, Refresh: tok.RefreshToken}, nil
}

// tokenError keeps the IdP's error code and description and drops the
// response body, which may echo what was sent.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		msg := re.ErrorCode
		if msg == "" && re.Response != nil {
			msg = re.Response.Status
		}
		if re.ErrorDescription != "" {
			msg += ": " + re.ErrorDescription
		}
		return errors.New(msg)
	}
	return err
}

// LogoutURL is the IdP's end_session_endpoint with client_id and the post
// logout redirect (OpenID Connect RP-Initiated Logout 1.0), or "" when the
// IdP has none.
func (c *Client) LogoutURL(ctx context.Context, postLogout string) string {
	if _, _, err := c.Issuer.discover(ctx); err != nil || c.Issuer.endSess == "" {
		return ""
	}
	sep := "?"
	if strings.Contains(c.Issuer.endSess, "?") {
		sep = "&"
	}
	q := make([]string, 0, 2)
	q = append(q, "client_id="+urlEscape(c.ClientID))
	if postLogout != "" {
		q = append(q, "post_logout_redirect_uri="+urlEscape(postLogout))
	}
	return c.Issuer.endSess + sep + strings.Join(q, "&")
}
