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
}

var configTmpl = template.Must(template.New("config").Funcs(template.FuncMap{"quote": strconv.Quote}).Parse(
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
`))

// WriteConfig writes a dagster-oidc config YAML whose `sandbox` profile uses
// this server, with one rule per role that has a When expression.
func (s *Server) WriteConfig(w io.Writer) error {
	return writeConfig(w, configView{Issuer: s.issuer, ClientID: s.opts.ClientID, STSEndpoint: s.STSEndpoint(), Roles: s.opts.Roles})
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
