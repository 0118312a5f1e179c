package config

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"text/template"

	"gopkg.in/yaml.v3"

	"github.com/dagster-oidc/dagster-oidc/internal/flow"
)

var starter = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("starter").Parse(`# dagster-oidc profiles. Reference: docs/configuration.md
default_profile: {{.Profile}}

# audit:
#   file: ~/.local/state/dagster-oidc/audit.jsonl   # append-only JSON lines, keyed hash chain
#   stderr: false                                   # also write events to stderr (pods)
#   syslog: tcp://127.0.0.1:514                     # RFC 5424 to a collector
#   claims: []                                      # claims logged in clear (none by default)

profiles:
  {{.Profile}}:
    environment: {{.Environment}}   # part of every cache key; rules can require it
    issuer: {{.Issuer}}
    client_id: {{.ClientID}}
    # client_secret_env: DAGSTER_OIDC_CLIENT_SECRET   # only for IdPs that insist on a secret
    scopes: [openid, email, profile, groups, offline_access]   # groups: for rules on claims.groups; drop it if your IdP refuses the scope
    flow: auto          # {{.Flows}}
    cache: auto         # auto|keyring|file|memory|none
    # refresh_margin: 2m
    # aws:
    #   region: us-east-1
    #   duration: 1h
    #   roles:
    #     - role_arn: arn:aws:iam::123456789012:role/data-eng
    #       when: "'data-eng' in claims.groups"
    # gcp:
    #   audience: //iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER
    #   service_account: pipelines@PROJECT.iam.gserviceaccount.com
`))
})

// StarterOptions fills the starter file.
type StarterOptions struct {
	Profile     string
	Environment string
	Issuer      string
	ClientID    string
}

// Starter renders a commented starter profiles file, and checks that it
// parses.
func Starter(o StarterOptions) ([]byte, error) {
	if o.Profile == "" {
		o.Profile = "default"
	}
	if o.Environment == "" {
		o.Environment = o.Profile
	}
	if u, err := url.Parse(o.Issuer); err != nil || u.Host == "" {
		return nil, fmt.Errorf("--issuer %q is not a URL", o.Issuer)
	}
	if o.ClientID == "" {
		return nil, fmt.Errorf("--client-id is required")
	}
	for _, v := range []string{o.Profile, o.Environment, o.Issuer, o.ClientID} {
		if q, _ := yaml.Marshal(v); string(bytes.TrimSpace(q)) != v {
			return nil, fmt.Errorf("%q needs quoting in YAML; use a plain value", v)
		}
	}
	var b bytes.Buffer
	// The flows the comment lists are the source registry's.
	data := struct {
		StarterOptions
		Flows string
	}{o, strings.Join(flow.FlowNames(), "|")}
	if err := starter().Execute(&b, data); err != nil {
		return nil, err
	}
	if _, err := Parse("starter", b.Bytes()); err != nil {
		return nil, fmt.Errorf("could not build a valid starter: %w", err)
	}
	return b.Bytes(), nil
}

// Show renders a resolved profile as YAML with secrets masked. The file's
// client secret never reaches it: only the variable or file it comes from.
func Show(p *Profile) ([]byte, error) {
	type shown struct {
		Name    string   `yaml:"profile"`
		Profile *Profile `yaml:",inline"`
	}
	cp := *p
	return yaml.Marshal(shown{Name: p.Name, Profile: &cp})
}
