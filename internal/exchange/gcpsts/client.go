// Package gcpsts exchanges an OpenID Connect ID token for a Google Cloud
// access token through workload identity federation: an OAuth 2.0 token
// exchange at Google's Security Token Service (RFC 8693), optionally followed
// by service-account impersonation through the IAM Credentials API.
//
// It speaks the two wire protocols with net/http only, so that the product
// binary does not link golang.org/x/oauth2/google and its dependencies.
package gcpsts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/safehttp"
)

// Default endpoints and token types (specs.md §2.3, §2.4).
const (
	// DefaultTokenURL is Google's STS token endpoint.
	DefaultTokenURL = "https://sts.googleapis.com/v1/token"
	// DefaultImpersonationURLBase is the IAM Credentials API root.
	DefaultImpersonationURLBase = "https://iamcredentials.googleapis.com/v1"
	// TokenTypeJWT is the subject token type Google recommends for OIDC ID tokens.
	TokenTypeJWT = "urn:ietf:params:oauth:token-type:jwt"
	// TokenTypeIDToken is the RFC 8693 type URI of an OIDC ID token.
	TokenTypeIDToken = "urn:ietf:params:oauth:token-type:id_token"
	// TokenTypeAccessToken is the token type requested from STS.
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	// GrantTypeTokenExchange is the RFC 8693 grant type.
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	// ScopeCloudPlatform is the default scope, and the scope STS is asked for
	// when a service account is impersonated.
	ScopeCloudPlatform = "https://www.googleapis.com/auth/cloud-platform"
	// DefaultMaxResponseBytes caps response bodies, as Google's client does.
	DefaultMaxResponseBytes = 1 << 20
	// DefaultLifetime is the impersonated token lifetime when none is asked for.
	DefaultLifetime = time.Hour
	// MaxLifetime is the longest lifetime generateAccessToken grants (with the
	// org policy constraints/iam.allowServiceAccountCredentialLifetimeExtension).
	MaxLifetime = 12 * time.Hour
)

// Client exchanges ID tokens for Google Cloud access tokens. The zero value
// talks to Google's production endpoints.
type Client struct {
	// HTTP sends the requests; nil means a client with a 30 s timeout.
	HTTP *http.Client
	// TokenURL is the STS token endpoint; empty means DefaultTokenURL.
	TokenURL string
	// ImpersonationURLBase is the IAM Credentials API root; empty means
	// DefaultImpersonationURLBase.
	ImpersonationURLBase string
	// MaxResponseBytes caps each response body; 0 means DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// Clock turns expires_in into an expiry; nil means the system clock.
	Clock clock.Clock
}

// Request is one exchange.
type Request struct {
	// Audience is the workload identity provider's full resource name,
	// //iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER.
	Audience string
	// SubjectTokenType defaults to TokenTypeJWT.
	SubjectTokenType string
	// SubjectToken is the ID token. It never appears in an error.
	SubjectToken string
	// Scopes of the final access token; default ScopeCloudPlatform.
	Scopes []string
	// ServiceAccount, when set, is impersonated with the federated token.
	ServiceAccount string
	// Lifetime of the impersonated token; 0 means DefaultLifetime. Ignored
	// without ServiceAccount (STS tokens have a fixed lifetime).
	Lifetime time.Duration
}

// AccessToken is a Google Cloud OAuth 2.0 access token.
type AccessToken struct {
	// Token is the bearer token.
	Token string
	// Expiry is when Google stops accepting it.
	Expiry time.Time
	// ServiceAccount is the impersonated account, empty for a federated token.
	ServiceAccount string
}

// Exchange trades r.SubjectToken for an access token at STS (specs.md §2.3)
// and, when r.ServiceAccount is set, trades that for the service account's
// token with generateAccessToken (specs.md §2.4).
func (c *Client) Exchange(ctx context.Context, r Request) (*AccessToken, error) {
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("could not exchange the token with google: %w", err)
	}
	stsScopes := r.scopes()
	if r.ServiceAccount != "" {
		// The federated token only needs to call IAM Credentials; the final
		// scopes go to generateAccessToken, as Google's libraries do.
		stsScopes = []string{ScopeCloudPlatform}
	}
	fed, err := c.exchangeSTS(ctx, r, stsScopes)
	if err != nil {
		return nil, err
	}
	if r.ServiceAccount == "" {
		return fed, nil
	}
	return c.impersonate(ctx, fed.Token, r)
}

func (r Request) validate() error {
	switch {
	case r.Audience == "":
		return errors.New("the workload identity provider audience is empty")
	case r.SubjectToken == "":
		return errors.New("the subject token is empty")
	case r.Lifetime < 0 || r.Lifetime > MaxLifetime:
		return fmt.Errorf("the token lifetime %s is outside 0s..%s", r.Lifetime, MaxLifetime)
	case r.Lifetime%time.Second != 0:
		return fmt.Errorf("the token lifetime %s is not a whole number of seconds", r.Lifetime)
	}
	switch r.subjectTokenType() {
	case TokenTypeJWT, TokenTypeIDToken:
	default:
		return fmt.Errorf("unsupported subject token type %q", r.SubjectTokenType)
	}
	return nil
}

func (r Request) subjectTokenType() string {
	if r.SubjectTokenType == "" {
		return TokenTypeJWT
	}
	return r.SubjectTokenType
}

func (r Request) scopes() []string {
	if len(r.Scopes) == 0 {
		return []string{ScopeCloudPlatform}
	}
	return r.Scopes
}

func (r Request) lifetime() time.Duration {
	if r.Lifetime == 0 {
		return DefaultLifetime
	}
	return r.Lifetime
}

// httpClient follows no redirect: a 307/308 would re-send the subject
// token or the access token to the Location's host (issue 15.5).
func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return safehttp.NoRedirects(c.HTTP)
	}
	return safehttp.NoRedirects(&http.Client{Timeout: 30 * time.Second})
}

func (c *Client) now() time.Time {
	if c.Clock == nil {
		return time.Now()
	}
	return c.Clock.Now()
}

func (c *Client) tokenURL() string {
	if c.TokenURL == "" {
		return DefaultTokenURL
	}
	return c.TokenURL
}

func (c *Client) impersonationBase() string {
	if c.ImpersonationURLBase == "" {
		return DefaultImpersonationURLBase
	}
	return strings.TrimSuffix(c.ImpersonationURLBase, "/")
}

func (c *Client) maxBytes() int64 {
	if c.MaxResponseBytes <= 0 {
		return DefaultMaxResponseBytes
	}
	return c.MaxResponseBytes
}
