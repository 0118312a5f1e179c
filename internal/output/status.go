package output

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// Status is the `status --format json` document.
type Status struct {
	Profile     string `json:"profile"`
	Environment string `json:"environment"`
	Issuer      string `json:"issuer"`
	ClientID    string `json:"client_id,omitempty"`
	// ClientSecret says where the client secret comes from and, for a
	// file, its age, e.g. "file /etc/dagster-oidc/secret, 12 days old".
	ClientSecret string     `json:"client_secret,omitempty"`
	Flow         string     `json:"flow"`
	Source       *SourceDoc `json:"source"`
	LoggedIn     bool       `json:"logged_in"`
	Subject      string     `json:"subject,omitempty"`
	Email        string     `json:"email,omitempty"`
	Audience     []string   `json:"audience,omitempty"`
	Expiry       *time.Time `json:"expiry,omitempty"`
	ExpiresIn    string     `json:"expires_in,omitempty"`
	Valid        bool       `json:"valid"`
	TokenSource  string     `json:"token_source,omitempty"`
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

// WriteStatus prints the status document as `status` shows it.
func WriteStatus(w io.Writer, st *Status) {
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

// Claims prints a claims table, one claim a line in name order, times as
// RFC 3339 too; terminal controls are dropped (an IdP chooses the values).
func Claims(w io.Writer, claims map[string]any) {
	keys := make([]string, 0, len(claims))
	for k := range claims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := claims[k]
		text := strings.TrimSpace(fmt.Sprintf("%v", v))
		if n, ok := v.(float64); ok && n == float64(int64(n)) {
			text = fmt.Sprintf("%d", int64(n))
			switch k {
			case "exp", "iat", "nbf", "auth_time":
				text += " (" + time.Unix(int64(n), 0).UTC().Format(time.RFC3339) + ")"
			}
		}
		fmt.Fprintf(w, "  %-20s %s\n", termsafe.Clean(k)+":", termsafe.Clean(text))
	}
}
