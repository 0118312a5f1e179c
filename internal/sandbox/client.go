package sandbox

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	exstorage "github.com/zitadel/oidc/v3/example/server/storage"
)

// loginPath is the sandbox's login page for the authorization code flow.
const loginPath = "/login"

// nativeClient wraps the example's native client: it adds the device-code
// grant (quirk 1), any loopback redirect (any port and path), any scope, the
// sandbox's ID token lifetime and its own login page.
type nativeClient struct {
	*exstorage.Client
	idTokenLifetime time.Duration
}

var _ op.HasRedirectGlobs = nativeClient{}

// GrantTypes implements op.Client.
func (c nativeClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeDeviceCode}
}

// LoginURL implements op.Client.
func (c nativeClient) LoginURL(authRequestID string) string {
	return loginPath + "?authRequestID=" + authRequestID
}

// IDTokenLifetime implements op.Client.
func (c nativeClient) IDTokenLifetime() time.Duration { return c.idTokenLifetime }

// IsScopeAllowed implements op.Client: the sandbox accepts any scope
// (groups, custom ones), asserting its claims regardless.
func (c nativeClient) IsScopeAllowed(string) bool { return true }

// RedirectURIGlobs implements op.HasRedirectGlobs: any path on any port of a
// loopback host (RFC 8252 §7.3), matched with doublestar.
func (c nativeClient) RedirectURIGlobs() []string {
	return []string{
		"http://127.0.0.1:*", "http://127.0.0.1:*/**",
		"http://localhost:*", "http://localhost:*/**",
		`http://\[::1\]:*`, `http://\[::1\]:*/**`,
	}
}

// PostLogoutRedirectURIGlobs implements op.HasRedirectGlobs. zitadel
// matches these with path.Match, where "*" stops at "/" and "**" means "*",
// so each path depth is listed (up to three segments).
func (c nativeClient) PostLogoutRedirectURIGlobs() []string {
	var out []string
	for _, host := range []string{"http://127.0.0.1:*", "http://localhost:*", `http://\[::1\]:*`} {
		out = append(out, host, host+"/*", host+"/*/*", host+"/*/*/*")
	}
	return out
}
