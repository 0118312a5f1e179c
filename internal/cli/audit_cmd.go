package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
)

func newAuditCmd(f *cmdutil.Factory, g *cmdutil.Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check and read the audit trail",
	}
	cmd.AddCommand(newAuditTailCmd(f, g, nil), newAuditVerifyCmd(f, g, nil))
	return cmd
}

// AuditOptions are the options of `audit tail` and `audit verify`.
type AuditOptions struct {
	IO *iostreams.IOStreams
	// Trail returns the configured audit file preceded by its rotated
	// files, oldest first; CacheDir holds the audit key.
	Trail    func() ([]string, error)
	CacheDir string
	// Files are the FILE arguments ("": the trail).
	Files []string
	// Lines and MatchSession are tail's, Checkpoints verify's.
	Lines        int
	MatchSession string
	Checkpoints  string
}

// newAuditOptions holds what the audit commands need of f and g.
func newAuditOptions(f *cmdutil.Factory, g *cmdutil.Globals) *AuditOptions {
	return &AuditOptions{IO: f.IO, CacheDir: f.Env.CacheDir(), Trail: func() ([]string, error) {
		a := config.Audit{}
		if cfg, err := g.Config(f); err == nil {
			a = cfg.Audit
		}
		return credentials.AuditFiles(a, f.Env.StateDir(), f.Env.Home())
	}}
}

// files are the FILE arguments, else the configured trail.
func (o *AuditOptions) files() ([]string, error) {
	if len(o.Files) > 0 {
		return o.Files, nil
	}
	return o.Trail()
}

// newAuditTailCmd builds `audit tail`; runF, when not nil, runs instead of
// auditTailRun.
func newAuditTailCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *AuditOptions) error) *cobra.Command {
	o := newAuditOptions(f, g)
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
			o.Files = args
			return cmdutil.RunE(o, runF, auditTailRun)(cmd, args)
		},
	}
	tail.Flags().IntVarP(&o.Lines, "lines", "n", 20, "number of events (0: all)")
	tail.Flags().StringVar(&o.MatchSession, "match-session", "", "only the events of this STS role session name (as CloudTrail shows it)")
	return tail
}

func auditTailRun(_ context.Context, o *AuditOptions) error {
	paths, err := o.files()
	if err != nil {
		return err
	}
	return credentials.AuditTail(o.IO.Out, paths, o.Lines, o.MatchSession, o.CacheDir)
}

// newAuditVerifyCmd builds `audit verify`; runF, when not nil, runs instead
// of auditVerifyRun.
func newAuditVerifyCmd(f *cmdutil.Factory, g *cmdutil.Globals, runF func(context.Context, *AuditOptions) error) *cobra.Command {
	o := newAuditOptions(f, g)
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
			o.Files = args
			return cmdutil.RunE(o, runF, auditVerifyRun)(cmd, args)
		},
	}
	verify.Flags().StringVar(&o.Checkpoints, "checkpoints", "", "file of checkpoints received by the syslog collector")
	return verify
}

func auditVerifyRun(_ context.Context, o *AuditOptions) error {
	paths, err := o.files()
	if err != nil {
		return err
	}
	rep, ncps, err := credentials.AuditVerify(credentials.AuditVerifyRequest{
		Files: paths, Configured: len(o.Files) == 0, Checkpoints: o.Checkpoints, CacheDir: o.CacheDir})
	if err != nil {
		return err
	}
	return output.AuditVerified(o.IO.Out, paths, rep, o.Checkpoints != "", ncps)
}
