package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
)

// ProxyOptions are the options of `proxy`.
type ProxyOptions struct {
	IO   *iostreams.IOStreams
	Open cmdutil.Opener
	// Request holds --listen, --upstream and --url.
	Request credentials.ProxyRequest
	// ready, when set, receives the listening address (tests).
	ready func(addr string)
}

// newProxyCmd builds `proxy`; runF, when not nil, runs instead of proxyRun.
func newProxyCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *ProxyOptions) error) *cobra.Command {
	o := &ProxyOptions{IO: f.IO, Open: cmdutil.NewOpener(f, g)}
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
		RunE: cmdutil.RunE(o, runF, proxyRun),
	}
	cmd.Flags().StringVar(&o.Request.Listen, "listen", "", "address to serve on (default proxy.listen, 127.0.0.1:8080)")
	cmd.Flags().StringVar(&o.Request.Upstream, "upstream", "", "dagster-webserver's URL (default proxy.upstream, http://127.0.0.1:3000)")
	cmd.Flags().StringVar(&o.Request.URL, "url", "", "how browsers reach the proxy (default proxy.url)")
	return cmd
}

func proxyRun(ctx context.Context, o *ProxyOptions) error {
	return o.Open.With(cmdutil.OpenOptions{}, func(r *cmdutil.Opened) error {
		return r.Svc.ServeProxy(ctx, o.Request, o.IO.ErrOut, o.ready)
	})
}
