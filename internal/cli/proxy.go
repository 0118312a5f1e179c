package cli

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

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/authz"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/cookie"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/signin"
	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// ProxyOptions are the options of `proxy`.
type ProxyOptions struct {
	f        *Factory
	g        *globalOptions
	Listen   string
	Upstream string
	URL      string
	// ready, when set, receives the listening address (tests).
	ready func(addr string)
}

func newProxyCmd(f *Factory, g *globalOptions) *cobra.Command {
	o := &ProxyOptions{f: f, g: g}
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Serve dagster-webserver behind OIDC sign-in and roles (viewer, launcher, editor, admin)",
		Long: `Serve dagster-webserver behind OpenID Connect sign-in, with the roles of the
profile's proxy block (viewer < launcher < editor < admin) enforced on every
GraphQL operation, WebSocket ones included, and on every webserver route.
Browsers sign in with the authorization code flow; API clients send
Authorization: Bearer with an ID token (dagster-oidc token) or a workload
token from a trusted issuer. Flags override the proxy block.`,
		Example: `  dagster-oidc proxy --profile ui
  dagster-oidc proxy --listen 0.0.0.0:8080 --upstream http://dagster-webserver:80`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return proxyRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.Listen, "listen", "", "address to serve on (default proxy.listen, 127.0.0.1:8080)")
	cmd.Flags().StringVar(&o.Upstream, "upstream", "", "dagster-webserver's URL (default proxy.upstream, http://127.0.0.1:3000)")
	cmd.Flags().StringVar(&o.URL, "url", "", "how browsers reach the proxy (default proxy.url)")
	return cmd
}

func proxyRun(ctx context.Context, o *ProxyOptions) error {
	r, err := loadProfile(o.f, o.g, "")
	if err != nil {
		return err
	}
	defer r.close()
	p := r.p
	if p.Proxy == nil {
		return apperr.Usage(fmt.Errorf("profile %s has no proxy block", p.Name), "add proxy: with url, cookie_keys_file or cookie_keys_env and roles (docs/proxy.md)")
	}
	x := *p.Proxy
	for _, o := range []struct{ flag, dst *string }{{&o.Listen, &x.Listen}, {&o.Upstream, &x.Upstream}, {&o.URL, &x.URL}} {
		if *o.flag != "" {
			*o.dst = *o.flag
		}
	}
	opts, err := proxyOptions(o.f, r, &x)
	if err != nil {
		return err
	}
	s, err := proxy.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", x.Listen)
	if err != nil {
		return apperr.Usage(fmt.Errorf("could not listen on %s: %w", x.Listen, err), "choose another --listen address")
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	fmt.Fprintf(o.f.IO.ErrOut, "dagster-oidc proxy: serving %s on %s for %s (profile %s)\n", x.Upstream, ln.Addr(), x.URL, p.Name)
	if o.ready != nil {
		o.ready(ln.Addr().String())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("the proxy stopped: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	return nil
}

// proxyOptions builds the proxy from a validated proxy block.
func proxyOptions(f *Factory, r *resolved, x *config.Proxy) (proxy.Options, error) {
	p := r.p
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
	keys, err := cookieKeys(f, x)
	if err != nil {
		return proxy.Options{}, err
	}
	sealer, err := cookie.NewSealer(keys, x.SessionLifetime.D()+time.Hour, f.Clock)
	if err != nil {
		return proxy.Options{}, apperr.Usage(err, "")
	}
	secret, err := r.svc.ClientSecret()
	if err != nil {
		return proxy.Options{}, apperr.Usage(err, "")
	}
	hc := f.HTTPClient()
	own := &signin.Issuer{URL: p.Issuer, Audience: p.ExpectedAudience(), HTTP: hc, Clock: f.Clock, Skew: p.ClockSkew.D()}
	bearer := &signin.Bearer{Issuers: []*signin.Issuer{own}}
	for _, t := range x.TrustedIssuers {
		bearer.Issuers = append(bearer.Issuers, &signin.Issuer{URL: t.Issuer, Audience: t.Audience, HTTP: hc, Clock: f.Clock, Skew: p.ClockSkew.D()})
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: x.UpstreamTimeout.D(),
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   64,
		ForceAttemptHTTP2:     false,
	}
	errOut := f.IO.ErrOut
	return proxy.Options{
		Profile: p.Name, Environment: p.Environment, ExternalURL: ext, Upstream: up, Transport: transport,
		SignIn: &signin.Client{Issuer: own, ClientID: p.ClientID, ClientSecret: secret,
			RedirectURL: strings.TrimSuffix(ext.String(), "/") + proxy.CallbackPath, Scopes: p.Scopes},
		Bearer: bearer, Rules: rules, Sealer: sealer, SessionLifetime: x.SessionLifetime.D(),
		ForwardHeaders: x.ForwardHeaders, MaxBodyBytes: x.MaxBodyBytes, MaxMessageBytes: x.MaxMessageBytes,
		Audit: r.svc.AuditLogger(), Clock: f.Clock,
		ErrorLog: proxyErrorLog(errOut),
	}, nil
}

// proxyErrorLog writes the proxy's error lines to w. Request paths and IdP
// error text are not the proxy's to trust: each is one line without
// terminal controls (issue 15.4).
func proxyErrorLog(w io.Writer) func(format string, args ...any) {
	return func(format string, args ...any) {
		fmt.Fprintf(w, "dagster-oidc proxy: %s\n", termsafe.Clean(fmt.Sprintf(format, args...)))
	}
}

// cookieKeys reads the cookie keys from the file (0600, as every secret) or
// the variable the proxy block names.
func cookieKeys(f *Factory, x *config.Proxy) ([][]byte, error) {
	var text string
	switch {
	case x.CookieKeysEnv != "":
		v, ok := f.Env(x.CookieKeysEnv)
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
