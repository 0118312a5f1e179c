package flow

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestGitLabToken(t *testing.T) {
	raw := wlValid(t, "project_path:group/pipelines:ref_type:branch:ref:main", "https://gitlab.example")
	tests := []struct {
		name   string
		envVar string
		env    map[string]string
	}{
		{"default variable", "", map[string]string{"GITLAB_CI": "true", "GITLAB_OIDC_TOKEN": raw + "\n"}},
		{"configured variable", "DAGSTER_ID_TOKEN", map[string]string{"GITLAB_CI": "true", "DAGSTER_ID_TOKEN": raw}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := wlOptions(t, tt.env)
			o.EnvVar = tt.envVar
			o.Audience = "https://gitlab.example"
			src, err := NewWorkloadSource(SourceGitLab, o)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := src.Token(context.Background())
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if tok.IDToken != raw || tok.Source != SourceGitLab || !tok.Expiry.Equal(wlNow.Add(time.Hour)) {
				t.Errorf("Token = %+v", *tok)
			}
		})
	}
}

func TestGitLabBadInput(t *testing.T) {
	expired := wlExpired(t, "aud")
	tests := []struct {
		name   string
		env    map[string]string
		want   []string
		wantIs error
		cause  WorkloadCause
	}{
		{name: "unset", cause: CauseUnset, env: map[string]string{"GITLAB_CI": "true"}, want: []string{"gitlab", "variable MY_TOKEN", "MY_TOKEN is not set"}},
		{name: "empty", cause: CauseFailed, env: map[string]string{"MY_TOKEN": ""}, want: []string{"gitlab", "variable MY_TOKEN", "empty"}},
		{name: "not a JWT", cause: CauseRejected, env: map[string]string{"MY_TOKEN": "glcbt-secretrunnertoken"}, want: []string{"gitlab", "variable MY_TOKEN", "not a signed JWT"}, wantIs: ErrNotJWT},
		{name: "expired", cause: CauseExpired, env: map[string]string{"MY_TOKEN": expired}, want: []string{"gitlab", "variable MY_TOKEN", "expired"}, wantIs: ErrTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := wlOptions(t, tt.env)
			o.EnvVar = "MY_TOKEN"
			src, err := NewWorkloadSource(SourceGitLab, o)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Token(context.Background())
			t.Log(err)
			wlAssertFailure(t, err, tt.want, []string{expired, "glcbt-secretrunnertoken"})
			wlAssertCause(t, err, tt.cause)
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
		})
	}
}
