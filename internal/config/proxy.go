package config

import (
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/proxy/authz"
	"github.com/dagster-oidc/dagster-oidc/internal/safehttp"
)

// Proxy configures `dagster-oidc proxy` in front of dagster-webserver.
type Proxy struct {
	// URL is how browsers reach the proxy; the IdP redirect URI is
	// URL + /_dagster-oidc/callback.
	URL string `yaml:"url"`
	// Listen is the address to serve on (default 127.0.0.1:8080).
	Listen string `yaml:"listen"`
	// Upstream is dagster-webserver's URL (default http://127.0.0.1:3000).
	Upstream string `yaml:"upstream"`
	// CookieKeysFile or CookieKeysEnv hold the cookie keys, one per line,
	// the first one sealing.
	CookieKeysFile  string          `yaml:"cookie_keys_file"`
	CookieKeysEnv   string          `yaml:"cookie_keys_env"`
	SessionLifetime Duration        `yaml:"session_lifetime"`
	ForwardHeaders  bool            `yaml:"forward_headers"`
	MaxBodyBytes    int64           `yaml:"max_body_bytes"`
	MaxMessageBytes int64           `yaml:"max_message_bytes"`
	UpstreamTimeout Duration        `yaml:"upstream_timeout"`
	TrustedIssuers  []TrustedIssuer `yaml:"trusted_issuers"`
	Roles           []ProxyRole     `yaml:"roles"`
}

// TrustedIssuer is another issuer whose ID tokens are accepted as bearer
// tokens (a CI's workload identity), for the audience given.
type TrustedIssuer struct {
	Issuer   string `yaml:"issuer"`
	Audience string `yaml:"audience"`
}

// ProxyRole grants a role (viewer, launcher, editor, admin) when its
// condition holds, on every code location or the listed ones.
type ProxyRole struct {
	Role        string   `yaml:"role"`
	When        string   `yaml:"when"`
	Locations   []string `yaml:"locations"`
	Environment string   `yaml:"environment"`
	Deny        bool     `yaml:"deny"`
}

// Proxy defaults.
const (
	DefaultProxyListen          = "127.0.0.1:8080"
	DefaultProxyUpstream        = "http://127.0.0.1:3000"
	DefaultProxySessionLifetime = 12 * time.Hour
	DefaultProxyUpstreamTimeout = 2 * time.Minute
)

func (x *Proxy) applyDefaults() {
	if x.Listen == "" {
		x.Listen = DefaultProxyListen
	}
	if x.Upstream == "" {
		x.Upstream = DefaultProxyUpstream
	}
	if x.SessionLifetime == 0 {
		x.SessionLifetime = Duration(DefaultProxySessionLifetime)
	}
	if x.UpstreamTimeout == 0 {
		x.UpstreamTimeout = Duration(DefaultProxyUpstreamTimeout)
	}
}

// validateProxy checks a profile's proxy block.
func (f *File) validateProxy(p *Profile) []error {
	x := p.Proxy
	if x == nil {
		return nil
	}
	k := "profiles." + p.Name + ".proxy"
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, f.errorf(key, format, args...)) }
	if p.ClientID == "" {
		add("profiles."+p.Name+".client_id", "required for the proxy: the client registered at the IdP with redirect URI <proxy.url>/_dagster-oidc/callback")
	}
	if u, err := url.Parse(x.URL); x.URL == "" || err != nil || u.Host == "" || !safehttp.Secure(u) || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		add(k+".url", "required: how browsers reach the proxy, an https URL without a path (http only for 127.0.0.1/localhost), got %q", x.URL)
	}
	if u, err := url.Parse(x.Upstream); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		add(k+".upstream", "must be dagster-webserver's http(s) URL, e.g. http://127.0.0.1:3000, got %q", x.Upstream)
	}
	if _, _, err := net.SplitHostPort(x.Listen); err != nil {
		add(k+".listen", "must be HOST:PORT, e.g. 0.0.0.0:8080, got %q", x.Listen)
	}
	if (x.CookieKeysFile == "") == (x.CookieKeysEnv == "") {
		add(k+".cookie_keys_file", "set exactly one of cookie_keys_file and cookie_keys_env (keys: openssl rand -base64 32, one per line)")
	}
	if d := x.SessionLifetime.D(); d < 5*time.Minute || d > 30*24*time.Hour {
		add(k+".session_lifetime", "%s is outside 5m0s..720h0m0s", d)
	}
	if d := x.UpstreamTimeout.D(); d < time.Second || d > time.Hour {
		add(k+".upstream_timeout", "%s is outside 1s..1h0m0s", d)
	}
	if x.MaxBodyBytes < 0 || x.MaxMessageBytes < 0 {
		add(k+".max_body_bytes", "limits must be positive (0: the default)")
	}
	for i, t := range x.TrustedIssuers {
		tk := fmt.Sprintf("%s.trusted_issuers[%d]", k, i)
		if u, err := url.Parse(t.Issuer); t.Issuer == "" || err != nil || u.Host == "" || !safehttp.Secure(u) {
			add(tk+".issuer", "must be an https URL (http only for 127.0.0.1/localhost), got %q", t.Issuer)
		}
		if t.Audience == "" {
			add(tk+".audience", "required: the aud its tokens must carry for this proxy")
		}
	}
	if len(x.Roles) == 0 {
		add(k+".roles", "at least one role rule is required (without a rule nobody has access)")
	}
	for i, r := range x.Roles {
		rk := fmt.Sprintf("%s.roles[%d]", k, i)
		switch {
		case r.Deny && (r.Role != "" || r.Locations != nil):
			add(rk+".deny", "a deny rule refuses every role; remove its role and locations")
		case !r.Deny:
			if _, err := authz.ParseRole(r.Role); err != nil {
				add(rk+".role", "%v", err)
			}
			if r.Locations != nil && len(r.Locations) == 0 {
				add(rk+".locations", "an empty list grants nothing; remove it to grant every code location")
			}
		}
	}
	return errs
}

// ProxyRules are the profile's proxy role rules in authz's form; the roles
// are valid once the file has been validated.
func (x *Proxy) ProxyRules() []authz.Rule {
	out := make([]authz.Rule, len(x.Roles))
	for i, r := range x.Roles {
		role, _ := authz.ParseRole(r.Role)
		out[i] = authz.Rule{Role: role, When: r.When, Locations: r.Locations, Environment: r.Environment, Deny: r.Deny}
	}
	return out
}
