package cli

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"

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

// TestIssue16_23_ExecAsDocumented: exec's exit codes, usage and region
// variables are what its help and docs/dagster.md say.
func TestIssue16_23_ExecAsDocumented(t *testing.T) {
	e := newExecEnv(t, "")
	e.login("alice")
	setEnv(e, map[string]string{"PATH": "/usr/bin:/bin"})
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	child := execChild(t, "exit 0", execRunID, execJob)
	tests := []struct {
		name string
		argv []string
		code int
		want string
	}{
		{"exec format error", []string{write("garbage", "not a program\n")}, 126, "exec format error"},
		{"missing #! interpreter", []string{write("script", "#!/nonexistent/interpreter\n")}, 127, "no such file or directory"},
		{"not on PATH", []string{"no-such-command-dagster-oidc"}, 127, "executable file not found"},
		{"a directory", []string{dir}, 126, "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The run worker's argv after the command, so the run context
			// (and the policy) is the same as a real run's.
			argv := append(tt.argv, child[3:]...)
			r := execCLI(e, nil, nil, append([]string{"exec", "--"}, argv...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, "dagster-oidc exec: "+tt.argv[0]+": ") || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", r.code, tt.code, tt.want, r.stderr)
			}
		})
	}
	// Region variables in both AWS modes, an existing value kept.
	for _, mode := range []string{"server", "token-file"} {
		out := filepath.Join(dir, "region-"+mode)
		r := execCLI(e, nil, nil, append([]string{"exec", "--aws-mode", mode, "--"}, execChild(t, `echo "$AWS_REGION $AWS_DEFAULT_REGION" > `+out, execRunID, execJob)...)...)
		if got := strings.TrimSpace(readFile(t, out)); r.code != 0 || got != "us-east-1 us-east-1" {
			t.Errorf("%s: exit %d, child saw %q, want the profile's region in both variables\n%s", mode, r.code, got, r.stderr)
		}
	}
	setEnv(e, map[string]string{"AWS_REGION": "eu-west-1"})
	out := filepath.Join(dir, "region-kept")
	if r := execCLI(e, nil, nil, append([]string{"exec", "--"}, execChild(t, `echo "$AWS_REGION" > `+out, execRunID, execJob)...)...); r.code != 0 || strings.TrimSpace(readFile(t, out)) != "eu-west-1" {
		t.Errorf("an AWS_REGION of the environment was replaced: exit %d, %q", r.code, readFile(t, out))
	}
	// exec --help and docs/dagster.md name the same ENTRYPOINT.
	doc := readFile(t, filepath.Join("..", "..", "docs", "dagster.md"))
	entrypoint := regexp.MustCompile(`ENTRYPOINT \[[^\]]*\]`).FindString(doc)
	help, _, _ := e.run("exec", "--help")
	if entrypoint == "" || !strings.Contains(help, entrypoint) {
		t.Errorf("exec --help does not show docs/dagster.md's %q:\n%s", entrypoint, help)
	}
}

// TestIssue16_23_CompletionOfValues: --profile, --flow, --format, --role,
// --service-account and --aws-mode complete with values from the config
// and the registries, on every command that has them.
func TestIssue16_23_CompletionOfValues(t *testing.T) {
	e := newExecEnv(t, "    gcp:\n      audience: //iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/o\n      service_accounts:\n        - service_account: etl@proj.iam.gserviceaccount.com\n        - deny: true\n          when: \"claims.sub == 'x'\"\n")
	complete := func(args ...string) []string {
		t.Helper()
		out, stderr, code := e.run(append([]string{"__complete"}, args...)...)
		if code != 0 {
			t.Fatalf("__complete %v: exit %d\n%s", args, code, stderr)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasPrefix(l, ":") {
				got = append(got, strings.SplitN(l, "\t", 2)[0])
			}
		}
		return got
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"status", "--profile", ""}, []string{"bare", "sandbox"}},
		{[]string{"aws", "credential-process", "-p", ""}, []string{"bare", "sandbox"}},
		{[]string{"login", "--flow", ""}, flow.FlowNames()},
		{[]string{"status", "--format", ""}, []string{"text", "json"}},
		{[]string{"token", "--format", ""}, []string{"raw", "json"}},
		{[]string{"aws", "env", "--format", ""}, []string{"sh", "fish", "pwsh", "dotenv", "json"}},
		{[]string{"gcp", "token", "--format", ""}, []string{"raw", "json"}},
		{[]string{"exec", "--aws-mode", ""}, []string{"server", "token-file"}},
		{[]string{"aws", "credential-process", "--role", ""}, []string{sandbox.DemoDataEngRoleARN}},
		{[]string{"exec", "--service-account", ""}, []string{"etl@proj.iam.gserviceaccount.com"}},
	}
	for _, tt := range tests {
		if got := complete(tt.args...); !slices.Equal(got, tt.want) {
			t.Errorf("__complete %v = %v, want %v", tt.args, got, tt.want)
		}
	}
	// Every such flag of the tree has a completion function.
	root := NewRootCmd(docsFactory(&bytes.Buffer{}, &bytes.Buffer{}))
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(fl *pflag.Flag) {
			switch fl.Name {
			case "profile", "flow", "format", "role", "service-account", "aws-mode":
				if _, ok := c.GetFlagCompletionFunc(fl.Name); !ok {
					t.Errorf("%s --%s has no completion", c.CommandPath(), fl.Name)
				}
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// TestIssue16_11_TokenEntryIsADirectory: a cached ID token entry that is a
// directory gets the same answer from every command, and no refresh token
// is spent on it. The answer is the cache trust check's refusal (issue 15.1
// treats a non-regular entry as planted), one line, before any request.
func TestIssue16_11_TokenEntryIsADirectory(t *testing.T) {
	e := newExecEnv(t, "")
	e.login("alice")
	entries, err := filepath.Glob(filepath.Join(e.env["DAGSTER_OIDC_CACHE_DIR"], "*.entry"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("cache entries after a login: %v %v, want the ID token's only", entries, err)
	}
	if err := os.Remove(entries[0]); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(entries[0], 0o700); err != nil {
		t.Fatal(err)
	}
	e.tty = false
	refreshTokens := e.keyring.count()
	e.reqs.Store(0)
	want := "error: refusing cache path " + entries[0] + ": not a regular file"
	var first string
	for _, args := range [][]string{{"token"}, {"aws", "credential-process"}, {"explain"}, {"status"}, {"token"}} {
		out, stderr, code := e.run(args...)
		if args[0] == "explain" {
			out = "" // its header lines come first
		}
		if code != 1 || out != "" || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and one line %q", args, code, out, stderr, want)
		}
		if first == "" {
			first = stderr
		} else if stderr != first {
			t.Errorf("%v answers %q, token answered %q", args, stderr, first)
		}
	}
	if n := e.reqs.Load(); n != 0 || e.keyring.count() != refreshTokens {
		t.Errorf("%d requests, %d keyring items (had %d): the refresh token must not be spent", n, e.keyring.count(), refreshTokens)
	}
}

// TestIssue16_17_StatusAfterRejectedRefresh: once the IdP rejected the
// refresh token, status no longer says logged in.
func TestIssue16_17_StatusAfterRejectedRefresh(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	// A margin longer than the token's life: every use refreshes.
	e.writeConfig("profiles:\n  sandbox:\n    issuer: " + e.sb.Issuer() + "\n    client_id: " + e.sb.ClientID() + "\n    flow: device\n    refresh_margin: 24h\n")
	e.login("alice")
	// Keep the local login, then revoke it at the IdP and put it back: the
	// state of a refresh token the IdP no longer accepts.
	cacheDir := e.env["DAGSTER_OIDC_CACHE_DIR"]
	entries, _ := filepath.Glob(filepath.Join(cacheDir, "*.entry"))
	saved := map[string]string{}
	for _, p := range entries {
		saved[p] = readFile(t, p)
	}
	e.keyring.mu.Lock()
	items := maps.Clone(e.keyring.items)
	e.keyring.mu.Unlock()
	if _, stderr, code := e.run("logout", "--revoke"); code != 0 {
		t.Fatalf("logout --revoke: exit %d\n%s", code, stderr)
	}
	for p, data := range saved {
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e.keyring.mu.Lock()
	e.keyring.items = items
	e.keyring.mu.Unlock()
	if out, _, _ := e.run("status", "--format", "json"); !strings.Contains(out, `"logged_in": true`) {
		t.Fatalf("before the refresh: %s", out)
	}
	e.tty = false
	if _, stderr, code := e.run("token"); code != 3 {
		t.Fatalf("token with a revoked refresh token: exit %d, want 3\n%s", code, stderr)
	}
	out, _, code := e.run("status", "--format", "json")
	if code != 0 || !strings.Contains(out, `"logged_in": false`) || !strings.Contains(out, `"refresh_token_present": false`) {
		t.Errorf("status after the rejection: exit %d\n%s", code, out)
	}
	if out, _, _ := e.run("status"); !strings.Contains(out, "Logged in:     no: no refresh token is stored") {
		t.Errorf("status text after the rejection:\n%s", out)
	}
}

// TestIssue16_16_RunRefusalNamesTheRun: a policy refusal inside a run is
// one line that names the run's job and location, each rule and why it was
// false, and the exact explain command, which then shows the same decision.
func TestIssue16_16_RunRefusalNamesTheRun(t *testing.T) {
	e := newExecEnv(t, "")
	e.login("alice")
	setEnv(e, execKept, map[string]string{"DAGSTER_CODE_LOCATION": "analytics"})
	r := execCLI(e, nil, nil, append([]string{"exec", "--"}, execChild(t, "exit 0", execRunID, "kpi_refresh")...)...)
	wantErr := `error: run ` + execRunID + ` of job "kpi_refresh" (code location "analytics") refused: no rule grants a target: rule 1 (` +
		sandbox.DemoDataEngRoleARN + `): condition false (run.job is "kpi_refresh")` + "\n"
	hint := "run: dagster-oidc explain --profile sandbox --job kpi_refresh --location analytics --run-id " + execRunID + "\n"
	if r.code != 4 || r.stderr != wantErr+hint {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 4 and:\n%s%s", r.code, r.stderr, wantErr, hint)
	}
	args := strings.Fields(strings.TrimPrefix(strings.TrimSpace(hint), "run: dagster-oidc "))
	out, _, code := e.run(args...)
	if code != 4 || !strings.Contains(out, `location "analytics"`) || !strings.Contains(out, `condition false (run.job is "kpi_refresh")`) {
		t.Errorf("the hint's explain: exit %d\n%s", code, out)
	}
}

// TestIssue16_18_ExplainUsesOnlyTheCache: explain decides on the cached
// token, expired or not, and calls nobody; --refresh asks for a current one.
func TestIssue16_18_ExplainUsesOnlyTheCache(t *testing.T) {
	e := newExecEnv(t, "")
	if _, stderr, code := e.run("explain"); code != 3 || !strings.Contains(stderr, `profile "sandbox" has no cached login to explain`) {
		t.Errorf("explain without a login: exit %d\n%s", code, stderr)
	}
	e.login("alice")
	e.clock = clock.Fake(time.Now().Add(48 * time.Hour))
	e.reqs.Store(0)
	out, stderr, code := e.run("explain", "--job", execJob)
	if code != 0 || !strings.Contains(out, "expired (the cached claims are used") || e.reqs.Load() != 0 {
		t.Errorf("explain on an expired cached token: exit %d, %d requests\n%s%s", code, e.reqs.Load(), out, stderr)
	}
	// --refresh renews the expired token at the IdP first (whatever the
	// fake clock then makes of the new token).
	if _, stderr, _ := e.run("explain", "--refresh", "--job", execJob); e.reqs.Load() == 0 {
		t.Errorf("explain --refresh on an expired token asked nobody\n%s", stderr)
	}
}

// TestIssue16_18_ShortLivedIDTokenWarnsOnce: an IdP whose ID tokens live
// less than refresh_margin (Dex's 1 minute against the 2 minute default)
// gets one warning, at the first token, not one at every refresh.
func TestIssue16_18_ShortLivedIDTokenWarnsOnce(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{IDTokenLifetime: time.Minute})
	const warning = "warning: the identity provider issues ID tokens valid for 1m0s, less than refresh_margin 2m0s, so every call refreshes the token; set refresh_margin below that in profile sandbox (e.g. 30s)"
	e.onSleep = e.approveAs("alice")
	_, stderr, code := e.run("login")
	e.onSleep = nil
	if code != 0 || strings.Count(stderr, warning) != 1 {
		t.Fatalf("login: exit %d, want the warning once:\n%s", code, stderr)
	}
	before := e.sb.Stats().TokenRequests["refresh_token"]
	for range 2 {
		_, stderr, code := e.run("token")
		if code != 0 || strings.Contains(stderr, "warning:") {
			t.Errorf("token: exit %d, stderr %q; want no second warning", code, stderr)
		}
	}
	if after := e.sb.Stats().TokenRequests["refresh_token"]; after != before+2 {
		t.Errorf("%d refreshes for two calls, want 2: the margin did not apply", after-before)
	}
}

// TestIssue16_15_WorkloadHints: a refused workload token gets a hint for a
// pod (what rotates the token), never "log in".
func TestIssue16_15_WorkloadHints(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	path := filepath.Join(e.dir, "token")
	write := func(lifetime time.Duration) {
		tok, err := e.sb.MintIDToken(map[string]any{"aud": "dagster-oidc", "sub": "system:serviceaccount:dagster:runs"}, lifetime)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e.writeConfig("profiles:\n  pod:\n    issuer: " + e.sb.Issuer() + "\n    flow: file\n    verify: required\n    workload: {path: " + path + ", audience: dagster-oidc}\n" +
		"    aws:\n      region: us-east-1\n      sts_endpoint: " + e.sb.STSEndpoint() + "\n      roles:\n        - role_arn: " + sandbox.DemoDataEngRoleARN + "\n")
	e.tty = false
	tests := []struct {
		name     string
		lifetime time.Duration
		args     []string
		want     string
	}{
		// Expired beyond the clock skew: refused here.
		{"expired token file", -time.Hour, []string{"token"}, "nothing rotated the file token in time: check what provides it"},
		// Expired within the 30 s skew: accepted here, refused by STS.
		{"STS ExpiredToken", -10 * time.Second, []string{"aws", "credential-process"}, "the file token expired before STS checked it: check what rotates it"},
	}
	if out, _, code := e.run("status"); code != 0 || strings.Contains(out, "login") {
		t.Errorf("status of a workload profile: exit %d, speaks of a login:\n%s", code, out)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write(tt.lifetime)
			_, stderr, code := e.run(tt.args...)
			if code != 4 || !strings.Contains(stderr, "\n"+tt.want) || strings.Contains(stderr, "login") {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 4, the hint %q and no login advice", code, stderr, tt.want)
			}
		})
	}
}
