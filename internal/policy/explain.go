package policy

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Explain writes the decision as a table, one row per rule, then the chosen
// and allowed targets:
//
//	RULE  KIND   TARGET                                   WHEN                          RESULT
//	1     allow  arn:aws:iam::123456789012:role/data-eng  'data-eng' in claims.groups   matched
//	2     deny   -                                        claims.email endsWith '@x'    condition false
//
//	target:  arn:aws:iam::123456789012:role/data-eng
//	allowed: arn:aws:iam::123456789012:role/data-eng
func (d *Decision) Explain(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tKIND\tTARGET\tWHEN\tRESULT")
	for _, o := range d.Outcomes {
		kind, target := "allow", o.Target
		if o.Deny {
			kind, target = "deny", "-"
		}
		when := strings.Join(strings.Fields(o.When), " ")
		if when == "" {
			when = "(always)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", o.Index+1, kind, target, when, o.Reason)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("could not write the explanation: %w", err)
	}
	target := d.Target
	if target == "" {
		target = "(none)"
	}
	allowed := strings.Join(d.Allowed, ", ")
	if allowed == "" {
		allowed = "(none)"
	}
	if _, err := fmt.Fprintf(w, "\ntarget:  %s\nallowed: %s\n", target, allowed); err != nil {
		return fmt.Errorf("could not write the explanation: %w", err)
	}
	return nil
}
