package credentials

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
)

func TestInitConfig(t *testing.T) {
	starter := config.StarterOptions{Issuer: "https://id.example.com", ClientID: "cli"}
	tests := []struct {
		name string
		// existing is the file already at the path ("" for none).
		existing string
		path     string
		force    bool
		starter  config.StarterOptions
		wantErr  string
		wantKind apperr.Kind
	}{
		{name: "build only", starter: starter},
		{name: "a new file in a new directory", path: "new/config.yaml", starter: starter},
		{name: "an existing file", path: "config.yaml", existing: "old", starter: starter, wantErr: "already exists", wantKind: apperr.KindUsage},
		{name: "an existing file, forced", path: "config.yaml", existing: "old", force: true, starter: starter},
		{name: "no issuer", path: "config.yaml", starter: config.StarterOptions{ClientID: "cli"}, wantErr: "issuer", wantKind: apperr.KindUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := ""
			if tt.path != "" {
				path = filepath.Join(dir, tt.path)
			}
			if tt.existing != "" {
				if err := os.WriteFile(path, []byte(tt.existing), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			data, err := InitConfig(InitConfigRequest{Starter: tt.starter, Path: path, Force: tt.force})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || apperr.KindOf(err) != tt.wantKind {
					t.Fatalf("InitConfig = %v, want a %v error with %q", err, tt.wantKind, tt.wantErr)
				}
				if got, _ := os.ReadFile(path); tt.existing != "" && string(got) != tt.existing {
					t.Errorf("the existing file was replaced: %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := config.Parse("starter.yaml", data); err != nil || !strings.Contains(string(data), "default:") {
				t.Errorf("starter does not parse with a default profile (%v):\n%s", err, data)
			}
			if path == "" {
				return
			}
			got, err := os.ReadFile(path)
			fi, _ := os.Stat(path)
			di, _ := os.Stat(filepath.Dir(path))
			if err != nil || string(got) != string(data) || fi.Mode().Perm() != 0o600 || (tt.existing == "" && di.Mode().Perm() != 0o700) {
				t.Errorf("written file: %v, modes %v %v", err, fi.Mode(), di.Mode())
			}
		})
	}
}

func TestValidateConfigOffline(t *testing.T) {
	tests := []struct {
		name, yaml, want string
		wantErr          string
	}{
		{name: "valid", yaml: "profiles:\n  dev:\n    issuer: https://id.example.com\n    client_id: c\n", want: "/x/config.yaml: 1 profile(s), syntax and keys OK\n"},
		{name: "a rule that does not compile", yaml: "profiles:\n  dev:\n    issuer: https://id.example.com\n    client_id: c\n    aws:\n      region: us-east-1\n      roles:\n        - role_arn: arn:aws:iam::123456789012:role/a\n          when: \"claims.groups contains\"\n",
			wantErr: "profiles.dev.aws.roles: rule 1:"},
		{name: "an unreadable client secret file", yaml: "profiles:\n  dev:\n    issuer: https://id.example.com\n    client_id: c\n    client_secret_file: /nonexistent/secret\n",
			wantErr: "profile dev: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("/x/config.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			var w strings.Builder
			err = ValidateConfig(t.Context(), ValidateConfigRequest{File: cfg, Offline: true, Clock: clock.Fake(now)}, &w)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ValidateConfig = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || w.String() != tt.want {
				t.Errorf("ValidateConfig = %v, wrote %q, want %q", err, w.String(), tt.want)
			}
		})
	}
}

func TestShowConfig(t *testing.T) {
	tests := []struct {
		name      string
		secretEnv string
		env       map[string]string
		want      string
	}{
		{name: "no client secret", want: "# client secret: not configured\n"},
		{name: "client secret set", secretEnv: "SECRET", env: map[string]string{"SECRET": "s3cr3t"}, want: "# client secret: set (****)\n"},
		{name: "client secret unset", secretEnv: "SECRET", want: "# client secret: configured but unreadable\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.s.Profile.Issuer, h.s.Profile.ClientID, h.s.Profile.ClientSecretEnv = "https://id.example.com", "c", tt.secretEnv
			h.s.Profile.RefreshMargin = config.Duration(time.Minute)
			h.s.w = &wiring{cfg: &config.File{Path: "/x/config.yaml"}, deps: Deps{Env: func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }}}
			data, err := h.s.ShowConfig()
			if err != nil {
				t.Fatal(err)
			}
			got := string(data)
			if !strings.HasPrefix(got, "# file: /x/config.yaml\n"+tt.want) || strings.Contains(got, "s3cr3t") || !strings.Contains(got, "client_id: c") {
				t.Errorf("ShowConfig =\n%s\nwant the file, %q and the profile, never the secret", got, tt.want)
			}
		})
	}
}
