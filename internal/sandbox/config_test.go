package sandbox

import (
	"bytes"
	"path/filepath"
	"testing"

	goldenfile "github.com/dagster-oidc/dagster-oidc/internal/testutil/golden"

	"gopkg.in/yaml.v3"
)

func TestWriteConfigGolden(t *testing.T) {
	o := Options{}.withDefaults()
	tests := []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"config.golden", func(b *bytes.Buffer) error {
			return writeConfig(b, configView{Issuer: "http://127.0.0.1:8555", ClientID: o.ClientID, STSEndpoint: "http://127.0.0.1:8555/sts", Roles: o.Roles,
				TokenFile: "/home/me/sandbox/token", GCPTokenURL: "http://127.0.0.1:8555/gcp/v1/token", GCPImpersonationURL: "http://127.0.0.1:8555/gcp/v1"})
		}},
		{"instructions.golden", func(b *bytes.Buffer) error {
			return writeInstructions(b, "http://127.0.0.1:8555", "http://127.0.0.1:8555/device", o.Users)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b); err != nil {
				t.Fatal(err)
			}
			goldenfile.Check(t, filepath.Join("testdata", tt.name), b.Bytes())
		})
	}
}

// TestWriteConfigParses checks the printed config of a live server is YAML
// with the server's own endpoints.
func TestWriteConfigParses(t *testing.T) {
	s := startServer(t, Options{})
	var b bytes.Buffer
	if err := s.WriteConfig(&b, ConfigOptions{}); err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		DefaultProfile string `yaml:"default_profile"`
		Profiles       map[string]struct {
			Issuer   string `yaml:"issuer"`
			ClientID string `yaml:"client_id"`
			AWS      struct {
				STSEndpoint string `yaml:"sts_endpoint"`
				Roles       []struct {
					RoleARN string `yaml:"role_arn"`
					When    string `yaml:"when"`
				} `yaml:"roles"`
			} `yaml:"aws"`
		} `yaml:"profiles"`
	}
	if err := yaml.Unmarshal(b.Bytes(), &cfg); err != nil {
		t.Fatalf("parse:\n%s\n%v", b.String(), err)
	}
	p := cfg.Profiles[cfg.DefaultProfile]
	if p.Issuer != s.Issuer() || p.ClientID != s.ClientID() || p.AWS.STSEndpoint != s.STSEndpoint() {
		t.Errorf("profile = %+v", p)
	}
	if len(p.AWS.Roles) != 2 || p.AWS.Roles[0].RoleARN != DemoDataEngRoleARN || p.AWS.Roles[0].When != "'data-eng' in claims.groups" {
		t.Errorf("roles = %+v", p.AWS.Roles)
	}
}
