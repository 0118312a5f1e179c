package buildinfo

import (
	"runtime/debug"
	"testing"
)

// TestIssue16_23_VersionShowsTheCommit: what -ldflags -X injected wins;
// goreleaser's "none" and zero date, or no -X at all, fall back to the
// toolchain's vcs stamp instead of "commit unknown".
func TestIssue16_23_VersionShowsTheCommit(t *testing.T) {
	stamped := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "4dca49155e0b2a1c3d4e5f60718293a4b5c6d7e8"},
			{Key: "vcs.time", Value: "2026-12-01T10:30:00Z"},
			{Key: "vcs.modified", Value: "false"},
		}}, true
	}
	tests := []struct {
		name string
		in   Info
		read func() (*debug.BuildInfo, bool)
		want Info
	}{
		{"goreleaser with git", Info{Version: "1.2.3", Commit: "abc1234", Date: "2026-01-02T03:04:05Z"}, stamped, Info{Version: "1.2.3", Commit: "abc1234", Date: "2026-01-02T03:04:05Z"}},
		{"goreleaser without git state", Info{Version: "0.0.1-snapshot-none", Commit: "none", Date: "0001-01-01T00:00:00Z"}, stamped, Info{Version: "0.0.1-snapshot-none", Commit: "4dca49155e0b", Date: "2026-12-01T10:30:00Z"}},
		{"go install", Info{Version: "dev"}, stamped, Info{Version: "v1.4.0", Commit: "4dca49155e0b", Date: "2026-12-01T10:30:00Z"}},
		{"no build info", Info{}, func() (*debug.BuildInfo, bool) { return nil, false }, Info{Version: "dev"}},
		{"goreleaser without git state, no vcs stamp", Info{Version: "0.0.1-snapshot-none", Commit: "none", Date: "0001-01-01T00:00:00Z"}, func() (*debug.BuildInfo, bool) { return &debug.BuildInfo{}, true },
			Info{Version: "0.0.1-snapshot-none", Commit: "none", Date: "0001-01-01T00:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.OrVCS(tt.read); got != tt.want {
				t.Errorf("OrVCS = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLine(t *testing.T) {
	tests := []struct {
		in   Info
		want string
	}{
		{Info{Version: "1.2.3", Commit: "abc1234", Date: "2026-01-02T03:04:05Z"}, "dagster-oidc 1.2.3 (commit abc1234, built 2026-01-02T03:04:05Z)"},
		{Info{Version: "dev"}, "dagster-oidc dev (commit unknown, built unknown)"},
	}
	for _, tt := range tests {
		if got := tt.in.Line("dagster-oidc"); got != tt.want {
			t.Errorf("Line = %q, want %q", got, tt.want)
		}
	}
}
