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
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
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

func newStatusCmd(f *Factory, g *globalOptions, runF func(context.Context, *StatusOptions) error) *cobra.Command {
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
			if runF != nil {
				return runF(cmd.Context(), o)
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

// Status is the `status --format json` document.
type Status struct {
	Profile     string     `json:"profile"`
	Environment string     `json:"environment"`
	Issuer      string     `json:"issuer"`
	ClientID    string     `json:"client_id,omitempty"`
	Flow        string     `json:"flow"`
	Source      *SourceDoc `json:"source"`
	LoggedIn    bool       `json:"logged_in"`
	Subject     string     `json:"subject,omitempty"`
	Email       string     `json:"email,omitempty"`
	Audience    []string   `json:"audience,omitempty"`
	Expiry      *time.Time `json:"expiry,omitempty"`
	ExpiresIn   string     `json:"expires_in,omitempty"`
	Valid       bool       `json:"valid"`
	TokenSource string     `json:"token_source,omitempty"`
	// Workload is set for a workload source: its tokens are read at every
	// use and never stored, so there is no login to show.
	Workload *WorkloadDoc `json:"workload,omitempty"`
	Store    StoreDoc     `json:"store"`
}

// WorkloadDoc says how a workload source's tokens are used and checked.
type WorkloadDoc struct {
	Stored bool   `json:"stored"`
	Verify string `json:"verify"`
	// Unverified says when a token is accepted without a signature check.
	Unverified string `json:"unverified,omitempty"`
}

// SourceDoc says which source the flow resolves to and why.
type SourceDoc struct {
	Chosen     string         `json:"chosen"`
	Reason     string         `json:"reason"`
	Candidates []CandidateDoc `json:"candidates,omitempty"`
}

// CandidateDoc is one ambient source considered by flow: auto.
type CandidateDoc struct {
	Name      string `json:"name"`
	Available bool   `json:"available"`
	Reason    string `json:"reason"`
}

// StoreDoc says where tokens live.
type StoreDoc struct {
	Tokens        string `json:"tokens"`
	RefreshTokens string `json:"refresh_tokens"`
	Reason        string `json:"reason"`
	RefreshToken  bool   `json:"refresh_token_present"`
	Warning       string `json:"warning,omitempty"`
}

func statusRun(_ context.Context, o *StatusOptions) error {
	r, err := loadProfile(o.f, o.g, o.Flow)
	if err != nil {
		return err
	}
	defer r.close()
	st, err := r.status()
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

func (r *resolved) sourceDoc() *SourceDoc {
	d := &SourceDoc{Chosen: r.flowName}
	switch {
	case r.detection != nil && r.detection.Chosen != "":
		d.Reason = "flow: auto detected an ambient workload identity"
	case r.detection != nil:
		d.Reason = "flow: auto found no workload identity; human login via " + r.flowName
	default:
		d.Reason = "flow: " + r.flowName + " set in the profile or by --flow"
	}
	if r.detection != nil {
		for _, c := range r.detection.Candidates {
			d.Candidates = append(d.Candidates, CandidateDoc{Name: c.Name, Available: c.Available, Reason: c.Reason})
		}
	}
	return d
}

// status describes the profile's login. A cache the trust checks refuse is
// the error every other command gives, not a silent "not logged in".
func (r *resolved) status() (*Status, error) {
	now := r.f.Clock.Now()
	st := &Status{
		Profile: r.p.Name, Environment: r.p.Environment, Issuer: r.p.Issuer, ClientID: r.p.ClientID,
		Flow: r.p.Flow, Source: r.sourceDoc(),
	}
	st.Store.Tokens = r.mgr.Fast.Name()
	st.Store.RefreshTokens = r.secrets.Name()
	st.Store.Reason = r.secrets.Reason()
	if r.isWorkload() {
		st.Store.Reason = "workload tokens are never stored; " + st.Store.Reason
		st.Workload = &WorkloadDoc{Verify: r.p.Verify}
		switch flow.VerifyMode(r.p.Verify) {
		case flow.VerifyWhenReachable:
			st.Workload.Unverified = "when the issuer cannot be reached (iss, aud and exp are still checked; each such use is audited as unverified)"
		case flow.VerifyOff:
			st.Workload.Unverified = "always (iss, aud and exp are checked; each use is audited as unverified)"
		}
	}
	st.Store.RefreshToken = r.mgr.HasRefreshToken()
	if st.Store.RefreshToken && r.secrets.Name() == cache.ModeFile {
		st.Store.Warning = "the refresh token is stored in a file (0600) because no keyring answered; anyone who can read your files as you can use it"
	}
	e, err := r.mgr.Cached()
	if err != nil {
		return nil, err
	}
	if e == nil {
		return st, nil
	}
	st.TokenSource = e.Source
	st.Subject = e.Subject
	exp := e.Expiry.UTC()
	st.Expiry = &exp
	st.Valid = e.Expiry.After(now)
	if st.Valid {
		st.ExpiresIn = e.Expiry.Sub(now).Round(time.Second).String()
	}
	// A token the next call would not serve (expired, or inside
	// refresh_margin) is a login only while a refresh token can renew it:
	// after the IdP rejected the refresh token, nothing can.
	st.LoggedIn = e.Expiry.After(now.Add(r.p.RefreshMargin.D())) || st.Store.RefreshToken
	st.Email, _ = r.visibleClaims(e.Claims)["email"].(string)
	st.Audience = e.Audience
	return st, nil
}

func writeStatus(w io.Writer, st *Status) {
	// Values quote the token's claims: no terminal controls (issue 15.4).
	row := func(k, v string) { fmt.Fprintf(w, "%-14s %s\n", k+":", termsafe.Clean(v)) }
	row("Profile", fmt.Sprintf("%s (environment %s)", st.Profile, st.Environment))
	row("Issuer", st.Issuer)
	if st.ClientID != "" {
		row("Client ID", st.ClientID)
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
