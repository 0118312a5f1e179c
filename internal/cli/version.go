package cli

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/buildinfo"
	"github.com/dagster-oidc/dagster-oidc/internal/cmdutil"
	"github.com/dagster-oidc/dagster-oidc/internal/iostreams"
)

// VersionOptions are the options of `version`.
type VersionOptions struct {
	IO *iostreams.IOStreams
	// Build is what the linker set; ReadBuildInfo fills in the rest.
	Build         buildinfo.Info
	ReadBuildInfo func() (*debug.BuildInfo, bool)
}

// newVersionCmd builds `version`; runF, when not nil, runs instead of
// versionRun.
func newVersionCmd(f *cmdutil.Factory, runF func(context.Context, *VersionOptions) error) *cobra.Command {
	o := &VersionOptions{IO: f.IO, Build: f.Build, ReadBuildInfo: debug.ReadBuildInfo}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		RunE:  cmdutil.RunE(o, runF, versionRun),
	}
}

func versionRun(_ context.Context, o *VersionOptions) error {
	_, err := fmt.Fprintln(o.IO.Out, o.Build.OrVCS(o.ReadBuildInfo).Line("dagster-oidc"))
	return err
}
