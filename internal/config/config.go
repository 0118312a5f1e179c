// Package config loads the dagster-oidc profiles file: strict YAML decoding
// with file:line errors, defaults, and validation.
package config

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// File is the whole profiles file.
type File struct {
	DefaultProfile string              `yaml:"default_profile"`
	Audit          Audit               `yaml:"audit"`
	Profiles       map[string]*Profile `yaml:"profiles"`

	// Path is where the file was read from.
	Path string `yaml:"-"`
	// lines maps "profiles.<name>" and "profiles.<name>.<key>" to a line
	// number; built from data on first use.
	lines map[string]int
	data  []byte
}

// Audit configures the audit trail's sinks.
type Audit struct {
	File     string   `yaml:"file"`
	MaxBytes int64    `yaml:"max_bytes"`
	Stderr   bool     `yaml:"stderr"`
	Syslog   string   `yaml:"syslog"` // "tcp://127.0.0.1:514" or "udp://..."
	Disabled bool     `yaml:"disabled"`
	Claims   []string `yaml:"claims"` // claims logged in clear (none by default)
	// CheckpointEvery sends a checkpoint (line count and head MAC) to the
	// syslog sink after every N lines of the file's chain (0: none).
	CheckpointEvery int64 `yaml:"checkpoint_every"`
}

// Profile is one named identity configuration.
type Profile struct {
	// Name is the profile's key in the file.
	Name string `yaml:"-"`

	Environment      string `yaml:"environment"`
	Issuer           string `yaml:"issuer"`
	ClientID         string `yaml:"client_id"`
	ClientSecretEnv  string `yaml:"client_secret_env"`
	ClientSecretFile string `yaml:"client_secret_file"`
	// ClientSecretMaxAge is how old client_secret_file may get before every
	// use warns that the secret is due for rotation.
	ClientSecretMaxAge Duration `yaml:"client_secret_max_age"`
	Audience           string   `yaml:"audience"`
	Scopes             []string `yaml:"scopes"`
	Flow               string   `yaml:"flow"`
	Cache              string   `yaml:"cache"`
	Verify             string   `yaml:"verify"`
	ClockSkew          Duration `yaml:"clock_skew"`
	RefreshMargin      Duration `yaml:"refresh_margin"`
	PrivateClaims      []string `yaml:"private_claims"`

	Browser  Browser  `yaml:"browser"`
	Workload Workload `yaml:"workload"`
	AWS      *AWS     `yaml:"aws"`
	GCP      *GCP     `yaml:"gcp"`
	Proxy    *Proxy   `yaml:"proxy"`
}

// Browser configures the authorization code flow's loopback redirect.
type Browser struct {
	Host    string   `yaml:"host"` // 127.0.0.1 (default) or [::1]
	Port    int      `yaml:"port"` // 0: random
	Path    string   `yaml:"path"` // default /callback
	Timeout Duration `yaml:"timeout"`
}

// Workload configures the workload identity sources.
type Workload struct {
	Path     string `yaml:"path"`
	Audience string `yaml:"audience"`
	EnvVar   string `yaml:"env_var"`
}

// AWS configures the AssumeRoleWithWebIdentity exchange.
type AWS struct {
	Region        string   `yaml:"region"`
	STSEndpoint   string   `yaml:"sts_endpoint"`
	Duration      Duration `yaml:"duration"`
	RefreshMargin Duration `yaml:"refresh_margin"`
	// STSTimeout bounds one whole exchange (every attempt and back-off);
	// 0 means the client's default (awssts.DefaultDeadline).
	STSTimeout  Duration   `yaml:"sts_timeout"`
	SessionName string     `yaml:"session_name"`
	Policy      string     `yaml:"policy"`
	PolicyARNs  []string   `yaml:"policy_arns"`
	Roles       []RoleRule `yaml:"roles"`
}

// RoleRule maps claims to a role ARN.
type RoleRule struct {
	RoleARN     string `yaml:"role_arn"`
	When        string `yaml:"when"`
	Environment string `yaml:"environment"`
	Deny        bool   `yaml:"deny"`
}

// GCP configures workload identity federation.
type GCP struct {
	Audience         string               `yaml:"audience"`
	SubjectTokenType string               `yaml:"subject_token_type"`
	TokenURL         string               `yaml:"token_url"`
	ImpersonationURL string               `yaml:"impersonation_url"`
	ServiceAccount   string               `yaml:"service_account"`
	Lifetime         Duration             `yaml:"lifetime"`
	Scopes           []string             `yaml:"scopes"`
	ServiceAccounts  []ServiceAccountRule `yaml:"service_accounts"`
}

// ServiceAccountRule maps claims to a GCP service account.
type ServiceAccountRule struct {
	ServiceAccount string `yaml:"service_account"`
	When           string `yaml:"when"`
	Environment    string `yaml:"environment"`
	Deny           bool   `yaml:"deny"`
}

// Duration is a time.Duration written as "15m", "1h30m" in YAML.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML parses a Go duration string, reporting the line on error.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: invalid duration %q (use e.g. 30s, 15m, 1h)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalText prints the duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Flows that a profile may name.
var (
	CacheModes = []string{"auto", "keyring", "file", "memory", "none"}
)

// Defaults applied to unset profile fields.
const (
	DefaultRefreshMargin = 2 * time.Minute
	DefaultClockSkew     = 30 * time.Second
	// DefaultClientSecretMaxAge is 90 days, a common rotation period.
	DefaultClientSecretMaxAge = 90 * 24 * time.Hour
	// MaxClockSkew bounds clock_skew: a larger allowance would keep an
	// expired (stolen, revoked) token usable for that long (issue 15).
	MaxClockSkew            = 5 * time.Minute
	DefaultAWSDuration      = time.Hour
	DefaultAWSRefreshMargin = 20 * time.Minute
	DefaultBrowserTimeout   = 5 * time.Minute
	// MinSTSTimeout and MaxSTSTimeout bound aws.sts_timeout: an STS call
	// needs a moment, and a credential process the SDK waits for must end
	// well before the SDK gives up on it (aws-sdk-go-v2: one minute).
	MinSTSTimeout = time.Second
	MaxSTSTimeout = 5 * time.Minute
	// MaxRefreshMargin bounds refresh_margin. A margin above the ID token's
	// life refreshes at every call (tests do that on purpose); one above a
	// day is a typo.
	MaxRefreshMargin = 24 * time.Hour
)

// ExpectedAudience is the audience ID tokens must carry: the configured one,
// else the client id.
func (p *Profile) ExpectedAudience() string {
	if p.Audience != "" {
		return p.Audience
	}
	return p.ClientID
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// RoleTargets are the role ARNs of the profile's allow rules (what --role
// may name).
func (p *Profile) RoleTargets() []string {
	var out []string
	if p.AWS != nil {
		for _, r := range p.AWS.Roles {
			if !r.Deny && r.RoleARN != "" {
				out = append(out, r.RoleARN)
			}
		}
	}
	return out
}

// ServiceAccountTargets are the service accounts of the profile's allow
// rules, or its plain service_account (what --service-account may name).
func (p *Profile) ServiceAccountTargets() []string {
	var out []string
	if p.GCP != nil {
		for _, r := range p.GCP.ServiceAccounts {
			if !r.Deny && r.ServiceAccount != "" {
				out = append(out, r.ServiceAccount)
			}
		}
		if len(p.GCP.ServiceAccounts) == 0 && p.GCP.ServiceAccount != "" {
			out = append(out, p.GCP.ServiceAccount)
		}
	}
	return out
}
