package credentials

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/authz"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/cookie"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/signin"
)

// ProxyRequest holds the `proxy` flags that override the profile's proxy
// block; an empty field keeps the block's value.
type ProxyRequest struct {
	Listen, Upstream, URL string
}

// ServeProxy serves the reverse proxy (see Proxy) until ctx ends: it
// listens where the block in effect says, writes its one start-up line and
// its error log to stderr, and calls ready (when not nil) with the address
// it listens on.
func (s *Service) ServeProxy(ctx context.Context, q ProxyRequest, stderr io.Writer, ready func(addr string)) error {
	opts, x, err := s.Proxy(q)
	if err != nil {
		return err
	}
	opts.ErrorLog = proxy.LineLog(stderr)
	h, err := proxy.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", x.Listen)
	if err != nil {
		return apperr.Usage(fmt.Errorf("could not listen on %s: %w", x.Listen, err), "choose another --listen address")
	}
	fmt.Fprintf(stderr, "dagster-oidc proxy: serving %s on %s for %s (profile %s)\n", x.Upstream, ln.Addr(), x.URL, s.Profile.Name)
	if ready != nil {
		ready(ln.Addr().String())
	}
	return proxy.Serve(ctx, ln, h)
}

// Proxy returns the reverse proxy's options for the profile's proxy block
// with q's overrides, and the block in effect (its Listen is where to
// serve). Its sign-in and bearer checks use the profile's issuer, client
// and clock skew, and the audit trail of s; ErrorLog is the caller's to set
// (where its lines go and how they are cleaned is the edge's business).
func (s *Service) Proxy(q ProxyRequest) (proxy.Options, config.Proxy, error) {
	p := s.Profile
	if p.Proxy == nil {
		return proxy.Options{}, config.Proxy{}, apperr.Usage(fmt.Errorf("profile %s has no proxy block", p.Name), "add proxy: with url, cookie_keys_file or cookie_keys_env and roles (docs/proxy.md)")
	}
	x := *p.Proxy
	for _, o := range []struct{ flag, dst *string }{{&q.Listen, &x.Listen}, {&q.Upstream, &x.Upstream}, {&q.URL, &x.URL}} {
		if *o.flag != "" {
			*o.dst = *o.flag
		}
	}
	opts, err := s.proxyOptions(&x)
	return opts, x, err
}

// proxyOptions builds the proxy from a validated proxy block.
func (s *Service) proxyOptions(x *config.Proxy) (proxy.Options, error) {
	p, d := s.Profile, s.w.deps
	ext, err := url.Parse(x.URL)
	if err != nil || ext.Host == "" {
		return proxy.Options{}, apperr.Usage(fmt.Errorf("proxy url %q is not a URL", x.URL), "")
	}
	up, err := url.Parse(x.Upstream)
	if err != nil || up.Host == "" {
		return proxy.Options{}, apperr.Usage(fmt.Errorf("proxy upstream %q is not a URL", x.Upstream), "")
	}
	rules := x.ProxyRules()
	if err := policy.Compile(authz.PolicyRules(rules)); err != nil {
		return proxy.Options{}, apperr.Usage(fmt.Errorf("profiles.%s.proxy.roles: %w", p.Name, err), "run: dagster-oidc config validate")
	}
	keys, err := s.cookieKeys(x)
	if err != nil {
		return proxy.Options{}, err
	}
	sealer, err := cookie.NewSealer(keys, x.SessionLifetime.D()+time.Hour, d.Clock)
	if err != nil {
		return proxy.Options{}, apperr.Usage(err, "")
	}
	secret, err := s.ClientSecret()
	if err != nil {
		return proxy.Options{}, apperr.Usage(err, "")
	}
	own := &signin.Issuer{URL: p.Issuer, Audience: p.ExpectedAudience(), HTTP: d.HTTP, Clock: d.Clock, Skew: p.ClockSkew.D()}
	bearer := &signin.Bearer{Issuers: []*signin.Issuer{own}}
	for _, t := range x.TrustedIssuers {
		bearer.Issuers = append(bearer.Issuers, &signin.Issuer{URL: t.Issuer, Audience: t.Audience, HTTP: d.HTTP, Clock: d.Clock, Skew: p.ClockSkew.D()})
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: x.UpstreamTimeout.D(),
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   64,
		ForceAttemptHTTP2:     false,
	}
	return proxy.Options{
		Profile: p.Name, Environment: p.Environment, ExternalURL: ext, Upstream: up, Transport: transport,
		SignIn: &signin.Client{Issuer: own, ClientID: p.ClientID, ClientSecret: secret,
			RedirectURL: strings.TrimSuffix(ext.String(), "/") + proxy.CallbackPath, Scopes: p.Scopes},
		Bearer: bearer, Rules: rules, Sealer: sealer, SessionLifetime: x.SessionLifetime.D(),
		ForwardHeaders: x.ForwardHeaders, MaxBodyBytes: x.MaxBodyBytes, MaxMessageBytes: x.MaxMessageBytes,
		Audit: s.AuditLogger(), Clock: d.Clock,
	}, nil
}

// cookieKeys reads the cookie keys from the file (0600, as every secret) or
// the variable the proxy block names.
func (s *Service) cookieKeys(x *config.Proxy) ([][]byte, error) {
	var text string
	switch {
	case x.CookieKeysEnv != "":
		v, ok := s.w.deps.Env(x.CookieKeysEnv)
		if !ok || v == "" {
			return nil, apperr.Usage(fmt.Errorf("cookie_keys_env names %s, which is not set", x.CookieKeysEnv), "set it to a key made with: openssl rand -base64 32")
		}
		text = v
	default:
		st, err := os.Stat(x.CookieKeysFile)
		if err != nil {
			return nil, apperr.Usage(fmt.Errorf("could not read cookie_keys_file: %w", err), "")
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, apperr.Usage(fmt.Errorf("cookie_keys_file %s is readable by others (mode %v)", x.CookieKeysFile, st.Mode().Perm()), "run: chmod 600 "+x.CookieKeysFile)
		}
		b, err := os.ReadFile(x.CookieKeysFile)
		if err != nil {
			return nil, apperr.Usage(fmt.Errorf("could not read cookie_keys_file: %w", err), "")
		}
		text = string(b)
	}
	keys, err := cookie.ParseKeys(text)
	if err != nil {
		return nil, apperr.Usage(err, "")
	}
	return keys, nil
}
