package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/config"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// TestIssue16_10_ExplainChecksAsValidate: explain refuses what config
// validate refuses, with the same message, before it reads a token, and
// both warn about a list claim compared with a string.
func TestIssue16_10_ExplainChecksAsValidate(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	tests := []struct {
		name, aws, want string
	}{
		{"duration under STS's minimum", "      duration: 5m\n      roles:\n        - role_arn: arn:aws:iam::123456789012:role/a\n",
			"profiles.sandbox.aws.duration: session duration 5m0s is outside STS's limits of 15m0s to 12h0m0s"},
		{"rule that is not a bool", "      roles:\n        - role_arn: arn:aws:iam::123456789012:role/a\n          when: \"nil\"\n",
			`profiles.sandbox.aws.roles: rule 1: condition "nil" yields unknown, not bool`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.writeConfig("profiles:\n  sandbox:\n    issuer: " + e.sb.Issuer() + "\n    client_id: " + e.sb.ClientID() + "\n    flow: device\n    aws:\n      region: us-east-1\n" + tt.aws)
			for _, args := range [][]string{{"config", "validate", "--offline"}, {"explain"}} {
				out, stderr, code := e.run(args...)
				if code != 2 || !strings.Contains(stderr, tt.want) || out != "" {
					t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", args, code, out, stderr, tt.want)
				}
			}
		})
	}
	e.writeConfig("profiles:\n  sandbox:\n    issuer: " + e.sb.Issuer() + "\n    client_id: " + e.sb.ClientID() + "\n    flow: device\n    scopes: [openid, email, groups, offline_access]\n    aws:\n      region: us-east-1\n      roles:\n        - role_arn: arn:aws:iam::123456789012:role/a\n          when: \"claims.groups == 'data-eng'\"\n")
	const warning = "warning: profiles.sandbox.aws.roles: rule 1: claims.groups == 'data-eng' compares a list claim with a string and is never true for a list; write: 'data-eng' in claims.groups"
	if _, stderr, code := e.run("config", "validate", "--offline"); code != 0 || !strings.Contains(stderr, warning) {
		t.Errorf("validate: exit %d, stderr %q; want the warning %q", code, stderr, warning)
	}
	e.login("alice")
	if _, stderr, _ := e.run("explain"); !strings.Contains(stderr, warning) {
		t.Errorf("explain: stderr %q; want the warning %q", stderr, warning)
	}
}

// TestIssue16_8_HTTPTimeoutRefused: a DAGSTER_OIDC_HTTP_TIMEOUT that is not
// a duration in range stops every command with exit 2, before any request.
func TestIssue16_8_HTTPTimeoutRefused(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	for _, v := range []string{"banana", "0", "-1s"} {
		e.env["DAGSTER_OIDC_HTTP_TIMEOUT"] = v
		out, stderr, code := e.run("token")
		if code != 2 || out != "" || !strings.HasPrefix(stderr, "error: DAGSTER_OIDC_HTTP_TIMEOUT=") || !strings.Contains(stderr, "fix or unset the variable") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", v, code, out, stderr)
		}
	}
	if n := e.reqs.Load(); n != 0 {
		t.Errorf("%d requests made with a bad timeout", n)
	}
}

// TestIssue16_2_UnknownSubcommand: a misspelt subcommand at any level exits
// 2 with "unknown command ... did you mean ..." on stderr and nothing on
// stdout, where a credential_process line would parse it.
func TestIssue16_2_UnknownSubcommand(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"aws", "credential-proces"}, `error: unknown command "credential-proces" for "dagster-oidc aws"; did you mean credential-process?`},
		{[]string{"gcp", "executabel"}, `error: unknown command "executabel" for "dagster-oidc gcp"; did you mean executable?`},
		{[]string{"--profile", "x", "aws", "--config", "/nowhere", "credential-proces"}, `error: unknown command "credential-proces" for "dagster-oidc aws"`},
		{[]string{"loginn"}, `error: unknown command "loginn" for "dagster-oidc"; did you mean login?`},
		{[]string{"config", "valdate"}, `error: unknown command "valdate" for "dagster-oidc config"; did you mean validate?`},
		{[]string{"completion", "zssh"}, `error: unknown command "zssh" for "dagster-oidc completion"; did you mean bash or fish or zsh?`},
		{[]string{"aws", "frobnicate"}, `error: unknown command "frobnicate" for "dagster-oidc aws"` + "\nsee dagster-oidc aws --help\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main(context.Background(), docsFactory(&out, &errOut), tt.args)
			if code != 2 || out.Len() != 0 || !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2, no stdout, stderr with %q", code, out.String(), errOut.String(), tt.want)
			}
		})
	}
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), docsFactory(&out, &errOut), []string{"aws"}); code != 0 || !strings.Contains(out.String(), "credential-process") {
		t.Errorf("aws without a subcommand: exit %d, stdout %q; want its help", code, out.String())
	}
}

// TestIssue16_3_GeneratedConfigsNameTheConfig: aws configure and gcp config
// write the config path that was resolved (here from DAGSTER_OIDC_CONFIG
// alone) and the profile (from DAGSTER_OIDC_PROFILE) into what they
// generate, so a shell without the variables runs the same profile.
func TestIssue16_3_GeneratedConfigsNameTheConfig(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	e.writeConfig("profiles:\n  other:\n    issuer: " + e.sb.Issuer() + "\n    client_id: " + e.sb.ClientID() + "\n  sandbox:\n    issuer: " + e.sb.Issuer() + "\n    client_id: " + e.sb.ClientID() +
		"\n    flow: device\n    aws:\n      region: us-east-1\n      roles:\n        - role_arn: arn:aws:iam::123456789012:role/a\n" +
		"    gcp:\n      audience: //iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/o\n")
	e.env["DAGSTER_OIDC_PROFILE"] = "sandbox"
	awsConfig := filepath.Join(e.dir, "aws", "config")
	e.env["AWS_CONFIG_FILE"] = awsConfig
	if _, stderr, code := e.run("aws", "configure"); code != 0 {
		t.Fatalf("aws configure: exit %d\n%s", code, stderr)
	}
	want := "credential_process = /usr/local/bin/dagster-oidc aws credential-process --profile sandbox --config " + e.config + "\n"
	if got := readFile(t, awsConfig); !strings.Contains(got, want) {
		t.Errorf("AWS config lacks %q:\n%s", want, got)
	}
	out, stderr, code := e.run("gcp", "config")
	if code != 0 {
		t.Fatalf("gcp config: exit %d\n%s", code, stderr)
	}
	if want := `"command": "/usr/local/bin/dagster-oidc gcp executable --profile sandbox --config ` + e.config + `"`; !strings.Contains(out, want) {
		t.Errorf("external_account JSON lacks %s:\n%s", want, out)
	}
}

// TestIssue16_22_ConfigInit: the starter asks for the groups scope its
// example rule reads, and the "Check it with" line carries the --config
// that was given.
func TestIssue16_22_ConfigInit(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	path := filepath.Join(e.dir, "elsewhere", "profiles.yaml")
	_, stderr, code := e.run("config", "init", "--config", path, "--issuer", "https://id.example.com", "--client-id", "dagster-cli")
	if code != 0 {
		t.Fatalf("config init: exit %d\n%s", code, stderr)
	}
	if want := "Check it with: dagster-oidc config validate --config " + path + "\n"; !strings.HasSuffix(stderr, want) {
		t.Errorf("stderr = %q, want it to end with %q", stderr, want)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := cfg.Profile("")
	if !slices.Contains(p.Scopes, "groups") || !strings.Contains(readFile(t, path), "claims.groups") {
		t.Errorf("scopes %v: the starter's rule reads claims.groups, so its scopes must ask for groups", p.Scopes)
	}
	if _, stderr, code := e.run("config", "validate", "--offline", "--config", path); code != 0 {
		t.Errorf("the printed check fails: exit %d\n%s", code, stderr)
	}
}
