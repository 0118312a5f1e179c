package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/audit"
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
			session := ""
			if matchSession != "" {
				key, err := credentials.AuditKey(f.CacheDir(), false)
				if err != nil {
					return err
				}
				session = audit.SessionHash(key, matchSession)
			} else {
				paths = paths[len(paths)-1:]
			}
			r, closeAll, err := openAll(paths)
			if err != nil {
				return err
			}
			defer closeAll()
			return audit.Tail(f.IO.Out, io.MultiReader(r...), n, session)
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
			key, err := credentials.AuditKey(f.CacheDir(), false)
			if err != nil {
				return err
			}
			var cps []audit.Checkpoint
			if checkpoints != "" {
				cf, err := os.Open(checkpoints)
				if err != nil {
					return fmt.Errorf("could not read the checkpoints: %w", err)
				}
				cps, err = audit.ReadCheckpoints(cf)
				cf.Close()
				if err != nil {
					return err
				}
			}
			r, closeAll, err := openAll(paths)
			if err != nil {
				return err
			}
			defer closeAll()
			files := make([]audit.TrailFile, len(paths))
			for i, p := range paths {
				files[i] = audit.TrailFile{Name: p, R: r[i]}
			}
			rep, err := audit.Verify(key, files, cps)
			if err == nil && len(args) == 0 {
				err = audit.CheckRetention(paths, rep, audit.DefaultBackups)
			}
			if err != nil {
				return apperr.Denied(err, "keep the files for investigation; see docs/audit.md for what each finding means")
			}
			start := "from its genesis record"
			if !rep.Genesis {
				start = fmt.Sprintf("from chain line %d (earlier lines rotated away)", rep.FirstSeq)
			}
			fmt.Fprintf(f.IO.Out, "%s: %d lines in %d files, keyed chain intact %s", paths[len(paths)-1], rep.Lines, len(paths), start)
			if checkpoints != "" {
				fmt.Fprintf(f.IO.Out, "; %d of %d checkpoints matched, %d older than the kept lines", rep.Checkpoints, len(cps), rep.Rotated)
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
	path := credentials.AuditPath(a, f.StateDir(), f.home())
	files, err := audit.TrailFiles(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no audit file at %s (nothing was logged yet, or audit.file points elsewhere)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("could not open the audit file: %w", err)
	}
	return files, nil
}

// openAll opens paths; closeAll closes those opened.
func openAll(paths []string) (readers []io.Reader, closeAll func(), err error) {
	var files []*os.File
	closeAll = func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, p := range paths {
		file, err := os.Open(p)
		if err != nil {
			closeAll()
			if errors.Is(err, os.ErrNotExist) {
				return nil, nil, fmt.Errorf("no audit file at %s", p)
			}
			return nil, nil, fmt.Errorf("could not open the audit file: %w", err)
		}
		files = append(files, file)
		readers = append(readers, file)
	}
	return readers, closeAll, nil
}
