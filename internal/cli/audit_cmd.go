package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/audit"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
)

func newAuditCmd(f *Factory, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check and read the audit trail",
	}
	var n int
	tail := &cobra.Command{
		Use:   "tail [FILE]",
		Short: "Print the last events of the audit file, one readable line each",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := openAuditFile(f, g, args)
			if err != nil {
				return err
			}
			defer file.Close()
			return audit.Tail(f.IO.Out, file, n)
		},
	}
	tail.Flags().IntVarP(&n, "lines", "n", 20, "number of events")
	verify := &cobra.Command{
		Use:   "verify [FILE]",
		Short: "Check the audit file's hash chain: names the first edited, deleted or reordered line",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := openAuditFile(f, g, args)
			if err != nil {
				return err
			}
			defer file.Close()
			lines, err := audit.Verify(file)
			if err != nil {
				return apperr.Denied(fmt.Errorf("%s: %w", file.Name(), err), "the file was edited, truncated in the middle or reordered; keep it for investigation")
			}
			fmt.Fprintf(f.IO.Out, "%s: %d events, hash chain intact\n", file.Name(), lines)
			return nil
		},
	}
	cmd.AddCommand(tail, verify)
	return cmd
}

// openAuditFile opens FILE, else the configured audit file.
func openAuditFile(f *Factory, g *globalOptions, args []string) (*os.File, error) {
	path := ""
	if len(args) == 1 {
		path = args[0]
	} else {
		path = filepath.Join(f.StateDir(), "audit.jsonl")
		if cfg, err := config.Load(f.ConfigPath(g.ConfigPath)); err == nil && cfg.Audit.File != "" {
			path = cfg.Audit.File
		}
	}
	file, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no audit file at %s (nothing was logged yet, or audit.file points elsewhere)", path)
	}
	return file, err
}
