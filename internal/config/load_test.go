package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/flow"
)

const valid = `default_profile: dev
profiles:
  dev:
    issuer: https://id.example.com
    client_id: dagster-cli
    aws:
      region: us-east-1
      roles:
        - role_arn: arn:aws:iam::123456789012:role/data-eng
          when: "'data-eng' in claims.groups"
  ci:
    flow: github-actions
    issuer: https://token.actions.githubusercontent.com
    workload:
      audience: sts.amazonaws.com
`

func TestParseValid(t *testing.T) {
	f, err := Parse("c.yaml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Profile("")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "dev" || p.Environment != "dev" || p.Flow != "auto" || p.Cache != "auto" || p.Verify != "required" {
		t.Errorf("defaults not applied: %+v", p)
	}
	if p.AWS.Duration.D() != time.Hour || p.AWS.RefreshMargin.D() != DefaultAWSRefreshMargin {
		t.Errorf("aws defaults: %+v", p.AWS)
	}
	if p.ExpectedAudience() != "dagster-cli" {
		t.Errorf("audience = %q", p.ExpectedAudience())
	}
	ci, err := f.Profile("ci")
	if err != nil || ci.Flow != "github-actions" {
		t.Fatalf("ci: %v %+v", err, ci)
	}
	if _, err := f.Profile("nope"); err == nil || !strings.Contains(err.Error(), "defined: ci, dev") {
		t.Errorf("unknown profile error = %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"unknown key", "profiles:\n  dev:\n    issuer: https://x.example\n    client_id: c\n    clientid: typo\n", "c.yaml:5: field clientid is not a known key in Profile"},
		{"wrong type", "profiles:\n  dev:\n    issuer: https://x.example\n    client_id: c\n    scopes: openid\n", "c.yaml:5: cannot unmarshal !!str `openid` into []string"},
		{"missing issuer", "profiles:\n  dev:\n    client_id: c\n", "c.yaml:2: profiles.dev.issuer: required"},
		{"missing client id", "profiles:\n  dev:\n    issuer: https://x.example\n    flow: device\n", "c.yaml:2: profiles.dev.client_id: required for the device flow"},
		{"http issuer", "profiles:\n  dev:\n    issuer: http://id.example.com\n    client_id: c\n", "c.yaml:3: profiles.dev.issuer: must be an https URL"},
		{"bad flow", "profiles:\n  dev:\n    issuer: https://x.example\n    client_id: c\n    flow: magic\n", "c.yaml:5: profiles.dev.flow: unknown flow \"magic\""},
		{"clock_skew above its bound", "profiles:\n  dev:\n    issuer: https://x.example\n    client_id: c\n    clock_skew: 1h\n", "c.yaml:5: profiles.dev.clock_skew: 1h0m0s is outside 0s..5m0s"},
		{"negative clock_skew", "profiles:\n  dev:\n    issuer: https://x.example\n    client_id: c\n    clock_skew: -1s\n", "profiles.dev.clock_skew: -1s is outside 0s..5m0s"},
		{"bad duration", "profiles:\n  dev:\n    issuer: https://x.example\n    client_id: c\n    refresh_margin: soon\n", "c.yaml:5: invalid duration \"soon\""},
		{"bad role arn", "profiles:\n  dev:\n    issuer: https://x.example\n    client_id: c\n    aws:\n      region: us-east-1\n      roles:\n        - role_arn: data-eng\n", "c.yaml:8: profiles.dev.aws.roles[0].role_arn: \"data-eng\" is not a role ARN"},
		{"no roles", "profiles:\n  dev:\n    issuer: https://x.example\n    client_id: c\n    aws:\n      region: us-east-1\n", "c.yaml:5: profiles.dev.aws.roles: at least one role is required"},
		{"default undefined", "default_profile: prod\nprofiles:\n  dev:\n    issuer: https://x.example\n    client_id: c\n", "c.yaml:1: default_profile: profile \"prod\" is not defined"},
		{"checkpoints without syslog", "audit:\n  checkpoint_every: 10\nprofiles:\n  dev:\n    issuer: https://x.example\n    client_id: c\n", "c.yaml:2: audit.checkpoint_every: needs audit.syslog: checkpoints go to the syslog collector"},
		{"negative checkpoint period", "audit:\n  syslog: tcp://127.0.0.1:514\n  checkpoint_every: -1\nprofiles:\n  dev:\n    issuer: https://x.example\n    client_id: c\n", "c.yaml:3: audit.checkpoint_every: must be 0 (no checkpoints) or a number of lines"},
		{"not yaml", "profiles: [\n", "c.yaml:1: did not find expected node content"},
		{"empty", "", "c.yaml:1: file is empty"},
		{"no profiles", "default_profile: \"\"\n", "c.yaml: profiles: no profiles defined"},
		{"gitlab without env var", "profiles:\n  ci:\n    flow: gitlab\n    issuer: https://gitlab.com\n", "c.yaml:2: profiles.ci.workload.env_var: required for the gitlab flow"},
		{"sts timeout too short", "profiles:\n  dev:\n    issuer: https://x.example\n    client_id: c\n    aws:\n      region: us-east-1\n      sts_timeout: 10ms\n      roles:\n        - role_arn: arn:aws:iam::1:role/r\n", "c.yaml:7: profiles.dev.aws.sts_timeout: must be between 1s and 5m0s, got 10ms"},
		{"sts timeout negative", "profiles:\n  dev:\n    issuer: https://x.example\n    client_id: c\n    aws:\n      region: us-east-1\n      sts_timeout: -1s\n      roles:\n        - role_arn: arn:aws:iam::1:role/r\n", "profiles.dev.aws.sts_timeout: must be between 1s and 5m0s, got -1s"},
		{"sts timeout too long", "profiles:\n  dev:\n    issuer: https://x.example\n    client_id: c\n    aws:\n      region: us-east-1\n      sts_timeout: 10m\n      roles:\n        - role_arn: arn:aws:iam::1:role/r\n", "profiles.dev.aws.sts_timeout: must be between 1s and 5m0s, got 10m0s"},
		{"verify off for humans", "profiles:\n  dev:\n    issuer: https://x.example\n    client_id: c\n    verify: \"off\"\n", "c.yaml:5: profiles.dev.verify: verify: off is only allowed for workload flows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "none.yaml")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+10), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: %v", err)
	}
	ok := filepath.Join(dir, "ok.yaml")
	if err := os.WriteFile(ok, []byte(valid), 0o600); err != nil {
		t.Fatal(err)
	}
	if f, err := Load(ok); err != nil || f.Path != ok {
		t.Errorf("Load = %v, %v", f, err)
	}
}

func TestStarterParses(t *testing.T) {
	data, err := Starter(StarterOptions{Profile: "dev", Issuer: "https://id.example.com", ClientID: "dagster"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("starter", data)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := f.Profile(""); p.ClientID != "dagster" || p.Environment != "dev" {
		t.Errorf("starter profile = %+v", p)
	}
	if want := "flow: auto          # " + strings.Join(flow.FlowNames(), "|") + "\n"; !strings.Contains(string(data), want) {
		t.Errorf("the starter's flow comment is not the source registry's list %q:\n%s", want, data)
	}
	if _, err := Starter(StarterOptions{Issuer: "not a url", ClientID: "x"}); err == nil {
		t.Error("bad issuer accepted")
	}
	if _, err := Starter(StarterOptions{Issuer: "https://x.example", ClientID: "a: b"}); err == nil {
		t.Error("client id needing quotes accepted")
	}
}

// TestAlso_ClockSkewBounded (issue 15, "Also"): clock_skew keeps an expired
// token usable for that long, so it has an upper bound.
func TestAlso_ClockSkewBounded(t *testing.T) {
	for _, tt := range []struct {
		skew string
		ok   bool
	}{{"0s", true}, {"30s", true}, {"5m", true}, {"5m1s", false}, {"1h", false}, {"-1s", false}} {
		t.Run(tt.skew, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte("profiles:\n  dev:\n    issuer: https://x.example\n    client_id: c\n    clock_skew: "+tt.skew+"\n"))
			if tt.ok != (err == nil) {
				t.Fatalf("clock_skew %s: err = %v, want ok=%v", tt.skew, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "profiles.dev.clock_skew:") {
				t.Errorf("error %q does not name the key", err)
			}
		})
	}
}
