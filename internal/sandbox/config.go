package sandbox

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/template"
)

// configView is what the generated dagster-oidc config shows.
type configView struct {
	Issuer, ClientID, STSEndpoint string
	Roles                         []Role
	// TokenFile is the path of a rotating service-account token file; the
	// sandbox-k8s profile is written only when it is set.
	TokenFile string
	// GCP endpoints of the emulator.
	GCPTokenURL, GCPImpersonationURL string
}

var configTmpl = template.Must(template.New("config").Funcs(template.FuncMap{
	"quote": strconv.Quote, "gcpAudience": func() string { return DemoGCPAudience },
	"gcpServiceAccount": func() string { return DemoGCPServiceAccount },
	"pipelineRole":      func() string { return DemoPipelineRoleARN }, "ciRole": func() string { return DemoCIRoleARN },
	"githubRepository": func() string { return DemoGitHubRepository }, "ciAudience": func() string { return DemoCIAudience },
}).Parse(
	`default_profile: sandbox
profiles:
  sandbox:
    environment: dev
    issuer: {{.Issuer}}
    client_id: {{.ClientID}}
    scopes: [openid, email, profile, groups, offline_access]
    flow: device
    aws:
      region: us-east-1
      sts_endpoint: {{.STSEndpoint}}
      roles:
{{- range .Roles}}{{if .When}}
        - role_arn: {{.ARN}}
          when: {{quote .When}}
{{- end}}{{end}}
{{- template "gcp" .}}
  sandbox-github:
    environment: dev
    issuer: {{.Issuer}}
    flow: github-actions
    workload:
      audience: {{ciAudience}}
    aws:
      region: us-east-1
      sts_endpoint: {{.STSEndpoint}}
      roles:
        - role_arn: {{ciRole}}
          when: "claims.repository == '{{githubRepository}}'"
{{- if .TokenFile}}
  sandbox-k8s:
    environment: dev
    issuer: {{.Issuer}}
    flow: kubernetes
    workload:
      path: {{quote .TokenFile}}
      audience: {{.ClientID}}
    aws:
      region: us-east-1
      sts_endpoint: {{.STSEndpoint}}
      roles:
        - role_arn: {{pipelineRole}}
          when: "claims.sub startsWith 'system:serviceaccount:dagster:'"
{{- template "gcp" .}}
{{- end}}
{{define "gcp"}}
    gcp:
      audience: {{gcpAudience}}
      token_url: {{.GCPTokenURL}}
      impersonation_url: {{.GCPImpersonationURL}}
      service_account: {{gcpServiceAccount}}
{{- end}}
`))

// ConfigOptions select the optional profiles of WriteConfig.
type ConfigOptions struct {
	// TokenFile, when set, adds the sandbox-k8s profile reading that
	// service-account token file (see KeepTokenFile).
	TokenFile string
}

// WriteConfig writes a dagster-oidc config YAML whose profiles use this
// server: `sandbox` (device login, one rule per role that has a When
// expression, AWS and GCP), `sandbox-github` (the GitHub Actions-style token
// endpoint) and, with o.TokenFile, `sandbox-k8s` (a service-account token
// file, AWS and GCP).
func (s *Server) WriteConfig(w io.Writer, o ConfigOptions) error {
	return writeConfig(w, s.configView(o))
}

func (s *Server) configView(o ConfigOptions) configView {
	return configView{Issuer: s.issuer, ClientID: s.opts.ClientID, STSEndpoint: s.STSEndpoint(), Roles: s.opts.Roles,
		TokenFile: o.TokenFile, GCPTokenURL: s.GCPTokenURL(), GCPImpersonationURL: s.GCPImpersonationURL()}
}

func writeConfig(w io.Writer, v configView) error {
	if err := configTmpl.Execute(w, v); err != nil {
		return fmt.Errorf("could not write the config: %w", err)
	}
	return nil
}

// WriteInstructions writes, for a person, the demo users and how to approve
// a device code.
func (s *Server) WriteInstructions(w io.Writer) error {
	return writeInstructions(w, s.issuer, s.DeviceURL(), s.opts.Users)
}

func writeInstructions(w io.Writer, issuer, deviceURL string, users []User) error {
	var b strings.Builder
	fmt.Fprintf(&b, "dagster-oidc sandbox: OpenID provider at %s, STS emulator at %s%s\n", issuer, issuer, stsPath)
	fmt.Fprintf(&b, "Users (sign in with these; credentials are valid nowhere else):\n")
	for _, u := range users {
		groups := strings.Join(u.Groups, ",")
		if groups == "" {
			groups = "-"
		}
		policy := u.Policy
		if policy == "" {
			policy = "-"
		}
		fmt.Fprintf(&b, "  %-10s password %-18s groups %-12s policy %s\n", u.ID, u.Password, groups, policy)
	}
	fmt.Fprintf(&b, "Approve a device code at %s (enter the code, sign in, press Approve).\n", deviceURL)
	fmt.Fprintf(&b, "Save the YAML on stdout as the dagster-oidc config, then run: dagster-oidc login --profile sandbox\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("could not write the instructions: %w", err)
	}
	return nil
}
