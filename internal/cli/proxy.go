package cli

import (
	"context"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy"
)

// ProxyOptions are the options of `proxy`.
type ProxyOptions struct {
	IO   *IOStreams
	Open profileOpener
	// Request holds --listen, --upstream and --url.
	Request credentials.ProxyRequest
	// ready, when set, receives the listening address (tests).
	ready func(addr string)
}

// newProxyCmd builds `proxy`; runF, when not nil, runs instead of proxyRun.
func newProxyCmd(f *Factory, g *globalOptions, runF func(context.Context, *ProxyOptions) error) *cobra.Command {
	o := &ProxyOptions{IO: f.IO, Open: opener(f, g)}
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
			return orRun(runF, proxyRun)(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.Request.Listen, "listen", "", "address to serve on (default proxy.listen, 127.0.0.1:8080)")
	cmd.Flags().StringVar(&o.Request.Upstream, "upstream", "", "dagster-webserver's URL (default proxy.upstream, http://127.0.0.1:3000)")
	cmd.Flags().StringVar(&o.Request.URL, "url", "", "how browsers reach the proxy (default proxy.url)")
	return cmd
}

func proxyRun(ctx context.Context, o *ProxyOptions) error {
	r, err := o.Open(openOptions{})
	if err != nil {
		return err
	}
	defer r.close()
	opts, x, err := r.svc.Proxy(o.Request)
	if err != nil {
		return err
	}
	opts.ErrorLog = proxy.LineLog(o.IO.ErrOut)
	s, err := proxy.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", x.Listen)
	if err != nil {
		return apperr.Usage(fmt.Errorf("could not listen on %s: %w", x.Listen, err), "choose another --listen address")
	}
	fmt.Fprintf(o.IO.ErrOut, "dagster-oidc proxy: serving %s on %s for %s (profile %s)\n", x.Upstream, ln.Addr(), x.URL, r.p.Name)
	if o.ready != nil {
		o.ready(ln.Addr().String())
	}
	return proxy.Serve(ctx, ln, s)
}
