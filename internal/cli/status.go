package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// StatusOptions are the options of `status`.
type StatusOptions struct {
	f      *Factory
	g      *globalOptions
	Format string
	Flow   string
}

func newStatusCmd(f *Factory, g *globalOptions) *cobra.Command {
	o := &StatusOptions{f: f, g: g}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show who you are logged in as, from which source, and where it is stored",
		Long: `Show the cached login of the profile: subject, issuer, audience, expiry,
the source that obtained it (and, for flow: auto, why each other source was
not chosen), and which store holds the tokens and why. It makes no network
request and never logs in.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Format != "text" && o.Format != "json" {
				return apperr.Usage(fmt.Errorf("unknown --format %q (text or json)", o.Format), "")
			}
			return statusRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.Format, "format", "text", "text|json")
	// --output/-o was the format here, while -o names an output file
	// elsewhere (gcp config): kept for old scripts, hidden, with a notice.
	cmd.Flags().StringVarP(&o.Format, "output", "o", "text", "text|json")
	_ = cmd.Flags().MarkDeprecated("output", "use --format")
	cmd.Flags().StringVar(&o.Flow, "flow", "", "override the profile's flow: "+strings.Join(flow.FlowNames(), "|"))
	return cmd
}

func statusRun(_ context.Context, o *StatusOptions) error {
	r, err := loadProfile(o.f, o.g, o.Flow)
	if err != nil {
		return err
	}
	defer r.close()
	st, err := r.svc.Status()
	if err != nil {
		return err
	}
	if o.Format == "json" {
		enc := json.NewEncoder(o.f.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	writeStatus(o.f.IO.Out, st)
	return nil
}

func writeStatus(w io.Writer, st *credentials.Status) {
	// Values quote the token's claims: no terminal controls (issue 15.4).
	row := func(k, v string) { fmt.Fprintf(w, "%-14s %s\n", k+":", termsafe.Clean(v)) }
	row("Profile", fmt.Sprintf("%s (environment %s)", st.Profile, st.Environment))
	row("Issuer", st.Issuer)
	if st.ClientID != "" {
		row("Client ID", st.ClientID)
	}
	if st.ClientSecret != "" {
		row("Client secret", st.ClientSecret)
	}
	row("Source", fmt.Sprintf("%s (%s)", st.Source.Chosen, st.Source.Reason))
	for _, c := range st.Source.Candidates {
		mark := "-"
		if c.Name == st.Source.Chosen {
			mark = "*"
		}
		fmt.Fprintf(w, "  %s %-18s %s\n", mark, c.Name, c.Reason)
	}
	switch {
	case st.Workload != nil:
		v := "verify: " + st.Workload.Verify
		if st.Workload.Unverified != "" {
			v += "; accepted without a signature check " + st.Workload.Unverified
		}
		row("Token", "read from "+st.Source.Chosen+" at every use, never stored ("+v+")")
	case !st.LoggedIn && st.Expiry != nil:
		row("Logged in", "no: no refresh token is stored and the token ends at "+st.Expiry.Format(time.RFC3339)+", inside refresh_margin (run: dagster-oidc login --profile "+st.Profile+")")
	case !st.LoggedIn:
		row("Logged in", "no (run: dagster-oidc login --profile "+st.Profile+")")
	case !st.Valid:
		row("Logged in", "token expired at "+st.Expiry.Format(time.RFC3339)+" (it is refreshed on next use)")
	default:
		who := st.Subject
		if st.Email != "" {
			who = st.Email + " (sub " + st.Subject + ")"
		}
		row("Logged in", who)
		row("Audience", strings.Join(st.Audience, ", "))
		row("Expires", fmt.Sprintf("%s (in %s)", st.Expiry.Format(time.RFC3339), st.ExpiresIn))
		row("Obtained by", st.TokenSource)
	}
	row("Store", fmt.Sprintf("tokens: %s, refresh token: %s (%s)", st.Store.Tokens, st.Store.RefreshTokens, st.Store.Reason))
	if st.Store.RefreshToken {
		row("Refresh", "a refresh token is stored")
	}
	if st.Store.Warning != "" {
		row("Warning", st.Store.Warning)
	}
}
