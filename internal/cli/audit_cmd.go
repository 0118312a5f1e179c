package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
)

func newAuditCmd(f *Factory, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check and read the audit trail",
	}
	var n int
	var matchSession string
	tail := &cobra.Command{
		Use:   "tail [FILE]",
		Short: "Print the last events of the audit file, one readable line each",
		Long: `Print the last events of the audit file, one readable line each.

With --match-session NAME, print only the events of the STS session NAME
(the RoleSessionName CloudTrail shows), searching the rotated files too: the
trail holds the session name only as a keyed hash, which this installation's
audit key recomputes.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			paths, err := auditFiles(f, g, args)
			if err != nil {
				return err
			}
			return credentials.AuditTail(f.IO.Out, paths, n, matchSession, f.CacheDir())
		},
	}
	tail.Flags().IntVarP(&n, "lines", "n", 20, "number of events (0: all)")
	tail.Flags().StringVar(&matchSession, "match-session", "", "only the events of this STS role session name (as CloudTrail shows it)")
	var checkpoints string
	verify := &cobra.Command{
		Use:   "verify [FILE...]",
		Short: "Check the audit trail's keyed hash chain: names the first edited, removed or reordered line",
		Long: `Check the audit trail's keyed hash chain, oldest file first. Without FILE,
the configured audit file and its rotated files (FILE.N … FILE.1, FILE).

With --checkpoints, also compare the trail with the checkpoints sent to
syslog (audit.checkpoint_every): a file the collector wrote, one message or
JSON record per line. That detects a trail cut short or rewritten by someone
holding the audit key.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			paths, err := auditFiles(f, g, args)
			if err != nil {
				return err
			}
			rep, ncps, err := credentials.AuditVerify(credentials.AuditVerifyRequest{
				Files: paths, Configured: len(args) == 0, Checkpoints: checkpoints, CacheDir: f.CacheDir()})
			if err != nil {
				return err
			}
			start := "from its genesis record"
			if !rep.Genesis {
				start = fmt.Sprintf("from chain line %d (earlier lines rotated away)", rep.FirstSeq)
			}
			fmt.Fprintf(f.IO.Out, "%s: %d lines in %d files, keyed chain intact %s", paths[len(paths)-1], rep.Lines, len(paths), start)
			if checkpoints != "" {
				fmt.Fprintf(f.IO.Out, "; %d of %d checkpoints matched, %d older than the kept lines", rep.Checkpoints, ncps, rep.Rotated)
			}
			fmt.Fprintln(f.IO.Out)
			return nil
		},
	}
	verify.Flags().StringVar(&checkpoints, "checkpoints", "", "file of checkpoints received by the syslog collector")
	cmd.AddCommand(tail, verify)
	return cmd
}

// auditFiles returns args, else the configured audit file preceded by its
// rotated files, oldest first.
func auditFiles(f *Factory, g *globalOptions, args []string) ([]string, error) {
	if len(args) > 0 {
		return args, nil
	}
	a := config.Audit{}
	if cfg, err := g.config(f); err == nil {
		a = cfg.Audit
	}
	return credentials.AuditFiles(a, f.StateDir(), f.home())
}
