package flow

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
)

func TestWorkloadSourceNames(t *testing.T) {
	want := []string{"github-actions", "gitlab", "web-identity-file", "azure-file", "kubernetes", "gcp-metadata", "file"}
	if diff := cmp.Diff(want, WorkloadSourceNames()); diff != "" {
		t.Errorf("WorkloadSourceNames() (-want +got):\n%s", diff)
	}
	for _, name := range want {
		t.Run(name, func(t *testing.T) {
			src, err := NewWorkloadSource(name, WorkloadOptions{Path: "/token", Audience: "aud"})
			if err != nil {
				t.Fatalf("NewWorkloadSource: %v", err)
			}
			if src.Name() != name {
				t.Errorf("Name() = %q", src.Name())
			}
			i, ok := src.(Interactive)
			if !ok || i.Interactive() {
				t.Errorf("%s is interactive or does not say", name)
			}
			if !IsWorkload(name) {
				t.Errorf("IsWorkload(%q) = false", name)
			}
		})
	}
	for _, name := range []string{"device", "browser", "auto", ""} {
		if IsWorkload(name) {
			t.Errorf("IsWorkload(%q) = true", name)
		}
	}
}

func TestNewWorkloadSourceUsageErrors(t *testing.T) {
	tests := []struct {
		name, source string
		want         []string
		wantIs       error
	}{
		{"unknown", "k8s", []string{`unknown workload source "k8s"`, strings.Join(WorkloadSourceNames(), ", ")}, nil},
		{"file without path", "file", []string{"needs a token path"}, ErrNoTokenPath},
		{"gcp without audience", "gcp-metadata", []string{"needs an audience"}, ErrNoAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewWorkloadSource(tt.source, WorkloadOptions{})
			wlAssertFailure(t, err, tt.want, nil)
			if code := apperr.ExitCode(err); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if tt.wantIs != nil && (!errors.Is(err, tt.wantIs) || apperr.HintOf(err) != "") {
				t.Errorf("err = %v (hint %q), want %v and no advice", err, apperr.HintOf(err), tt.wantIs)
			}
		})
	}
}
