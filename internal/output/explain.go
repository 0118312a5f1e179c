package output

import (
	"fmt"
	"io"
	"time"
)

// Explanation is what `explain` prints: the profile's source, the token
// decided on, the Dagster run and each rule section's outcome table.
type Explanation struct {
	Profile, Environment string
	Source               *SourceDoc
	// Token is nil when there is no token to decide on; the rest then is
	// not printed.
	Token *ExplainedToken
	// RunID, Job and Location are the run context evaluated (printed when
	// any is set).
	RunID, Job, Location string
	Sections             []ExplainedSection
	// ProxyGrants are the proxy roles held; printed when Proxy is set.
	Proxy       bool
	ProxyGrants string
}

// ExplainedToken is the token explain decided on.
type ExplainedToken struct {
	Source string
	Expiry time.Time
	// Expired: the claims of an expired cached token were used.
	Expired bool
	// Claims are the claims shown (private_claims removed).
	Claims map[string]any
}

// ExplainedSection is one kind of rules ("AWS roles", ...) and its
// decision's outcome table (nil: none was made).
type ExplainedSection struct {
	Name  string
	Table interface{ Explain(io.Writer) error }
}

// WriteExplanation prints x as the `explain` text.
func WriteExplanation(w io.Writer, x Explanation) error {
	fmt.Fprintf(w, "Profile:      %s (environment %s)\n", x.Profile, x.Environment)
	if src := x.Source; src != nil {
		fmt.Fprintf(w, "Source:       %s (%s)\n", src.Chosen, src.Reason)
		for _, c := range src.Candidates {
			fmt.Fprintf(w, "  - %-18s %s\n", c.Name, c.Reason)
		}
	}
	tok := x.Token
	if tok == nil {
		return nil
	}
	expires := "expires"
	if tok.Expired {
		expires = "expired (the cached claims are used; --refresh gets a current token)"
	}
	fmt.Fprintf(w, "Token:        from %s, %s %s\n", tok.Source, expires, tok.Expiry.UTC().Format("2006-01-02T15:04:05Z"))
	fmt.Fprintln(w, "Claims:")
	Claims(w, tok.Claims)
	if x.Job != "" || x.RunID != "" || x.Location != "" {
		fmt.Fprintf(w, "Run:          id %q, job %q, location %q\n", x.RunID, x.Job, x.Location)
	}
	for _, sec := range x.Sections {
		fmt.Fprintf(w, "\n%s:\n", sec.Name)
		if sec.Table != nil {
			if err := sec.Table.Explain(w); err != nil {
				return err
			}
		}
	}
	if x.Proxy {
		fmt.Fprintf(w, "\nProxy grants: %s\n", x.ProxyGrants)
	}
	return nil
}
