package cli

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// VersionOptions are the options of `version`.
type VersionOptions struct {
	IO *IOStreams
	// Build is what the linker set; ReadBuildInfo fills in the rest.
	Build         BuildInfo
	ReadBuildInfo func() (*debug.BuildInfo, bool)
}

// newVersionCmd builds `version`; runF, when not nil, runs instead of
// versionRun.
func newVersionCmd(f *Factory, runF func(context.Context, *VersionOptions) error) *cobra.Command {
	o := &VersionOptions{IO: f.IO, Build: f.Build, ReadBuildInfo: debug.ReadBuildInfo}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return orRun(runF, versionRun)(cmd.Context(), o)
		},
	}
}

func versionRun(_ context.Context, o *VersionOptions) error {
	b := o.Build.orVCS(o.ReadBuildInfo)
	_, err := fmt.Fprintf(o.IO.Out, "dagster-oidc %s (commit %s, built %s)\n", b.Version, orNone(b.Commit), orNone(b.Date))
	return err
}

// orVCS fills what -ldflags -X left unset from the Go toolchain's build
// information: goreleaser writes "none" and a zero date when it cannot read
// the git state, and `go install` or `go build` sets no -X at all, yet both
// stamp vcs.revision and vcs.time (and go install the module version).
func (b BuildInfo) orVCS(read func() (*debug.BuildInfo, bool)) BuildInfo {
	// What goreleaser writes without git state; kept when the toolchain
	// has nothing better, so scripts/release-check.sh can tell the cases.
	unset := func(s string) bool { return s == "" || s == "none" || strings.HasPrefix(s, "0001-01-01") }
	if info, ok := read(); ok {
		vcs := map[string]string{}
		for _, s := range info.Settings {
			vcs[s.Key] = s.Value
		}
		if rev := vcs["vcs.revision"]; unset(b.Commit) && rev != "" {
			b.Commit = rev[:min(len(rev), 12)]
			if vcs["vcs.modified"] == "true" {
				b.Commit += "-dirty"
			}
		}
		if t := vcs["vcs.time"]; unset(b.Date) && t != "" {
			b.Date = t
		}
		if v := info.Main.Version; (b.Version == "" || b.Version == "dev") && v != "" && v != "(devel)" {
			b.Version = v
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	return b
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
