package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newVersionCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := f.Build
			if b.Version == "" {
				b.Version = "dev"
			}
			_, err := fmt.Fprintf(f.IO.Out, "dagster-oidc %s (commit %s, built %s)\n", b.Version, orNone(b.Commit), orNone(b.Date))
			return err
		},
	}
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
