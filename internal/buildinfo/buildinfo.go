// Package buildinfo is the version, commit and build date of a binary:
// what the linker set (goreleaser's -ldflags -X), completed from the Go
// toolchain's own build stamp.
package buildinfo

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Info is injected at link time by goreleaser.
type Info struct {
	// Version is the release ("1.2.3"), "dev" for a build without one.
	Version string
	// Commit is the git revision, Date the build (or commit) time.
	Commit string
	Date   string
}

// OrVCS fills what -ldflags -X left unset from the Go toolchain's build
// information (read is debug.ReadBuildInfo): goreleaser writes "none" and a
// zero date when it cannot read the git state, and `go install` or `go
// build` sets no -X at all, yet both stamp vcs.revision and vcs.time (and go
// install the module version).
func (b Info) OrVCS(read func() (*debug.BuildInfo, bool)) Info {
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

// Line is the `version` line of program: "NAME VERSION (commit C, built D)",
// with "unknown" for what nothing set.
func (b Info) Line(program string) string {
	orUnknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	return fmt.Sprintf("%s %s (commit %s, built %s)", program, b.Version, orUnknown(b.Commit), orUnknown(b.Date))
}
