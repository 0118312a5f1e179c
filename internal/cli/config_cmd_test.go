package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

func TestConfigInitValidateShow(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	e.env["DAGSTER_OIDC_CONFIG"] = filepath.Join(e.dir, "new", "config.yaml")
	_, stderr, code := e.run("config", "init", "--issuer", e.sb.Issuer(), "--client-id", e.sb.ClientID(), "--profile", "dev")
	if code != 0 {
		t.Fatalf("init exit %d: %s", code, stderr)
	}
	if fi, err := os.Stat(e.env["DAGSTER_OIDC_CONFIG"]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("written file: %v %v", fi, err)
	}
	if _, stderr, code := e.run("config", "init", "--issuer", e.sb.Issuer(), "--client-id", "x"); code != 2 || !strings.Contains(stderr, "pass --force") {
		t.Errorf("second init: exit %d %s", code, stderr)
	}
	_, stderr, code = e.run("config", "validate")
	if code != 0 || !strings.Contains(stderr, "issuer "+e.sb.Issuer()+" matches its discovery document") {
		t.Errorf("validate: exit %d %s", code, stderr)
	}
	out, _, code := e.run("config", "show")
	if code != 0 || !strings.Contains(out, "profile: dev") || !strings.Contains(out, "client secret: not configured") || !strings.Contains(out, "refresh_margin: 2m0s") {
		t.Errorf("show: exit %d\n%s", code, out)
	}
}

func TestConfigValidateErrors(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	tests := []struct {
		name, yaml, want string
		code             int
	}{
		{"rule does not compile", "profiles:\n  dev:\n    issuer: ISSUER\n    client_id: c\n    aws:\n      region: us-east-1\n      roles:\n        - role_arn: arn:aws:iam::123456789012:role/a\n          when: \"claims.groups contains\"\n",
			"profiles.dev.aws.roles: rule 1:", 2},
		{"issuer mismatch", "profiles:\n  dev:\n    issuer: ISSUER/\n    client_id: c\n",
			"issuer mismatch: the profile says \"ISSUER/\"", 1},
		{"margin eats the duration", "profiles:\n  dev:\n    issuer: ISSUER\n    client_id: c\n    aws:\n      region: us-east-1\n      duration: 15m\n      refresh_margin: 15m\n      roles: [{role_arn: \"arn:aws:iam::123456789012:role/a\"}]\n",
			"leaves 0s of use", 2},
		{"no file", "", "error: no config file at CONFIG\nrun: dagster-oidc config init --issuer URL --client-id ID (or pass --config)\n", 2},
		{"unknown key", "profiles:\n  dev:\n    issuer: ISSUER\n    client_id: c\n    flows: device\n", "config.yaml:5: field flows is not a known key in Profile", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.writeConfig(strings.ReplaceAll(tt.yaml, "ISSUER", e.sb.Issuer()))
			if tt.yaml == "" {
				if err := os.Remove(e.env["DAGSTER_OIDC_CONFIG"]); err != nil {
					t.Fatal(err)
				}
			}
			want := strings.NewReplacer("ISSUER", e.sb.Issuer(), "CONFIG", e.env["DAGSTER_OIDC_CONFIG"]).Replace(tt.want)
			_, stderr, code := e.run("config", "validate")
			if code != tt.code || !strings.Contains(stderr, want) {
				t.Errorf("exit %d (want %d), stderr %q, want %q", code, tt.code, stderr, want)
			}
		})
	}
}

func TestLogoutRevoke(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	e.login("alice")
	_, stderr, code := e.run("logout", "--revoke")
	if code != 0 || !strings.Contains(stderr, "Revoked the refresh token") || !strings.Contains(stderr, "Logged out of profile sandbox") {
		t.Fatalf("logout: exit %d %s", code, stderr)
	}
	if e.keyring.count() != 0 {
		t.Errorf("%d keyring items left", e.keyring.count())
	}
	files, _ := filepath.Glob(filepath.Join(e.dir, "cache", "*.entry"))
	for _, f := range files {
		if !strings.Contains(f, "audit-hmac-key") {
			t.Errorf("cache file left: %s", f)
		}
	}
	e.tty = false
	if _, _, code := e.run("token"); code != 3 {
		t.Errorf("token after logout: exit %d, want 3", code)
	}
}

func TestStatusNamesAmbientSource(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	tok, err := e.sb.MintIDToken(map[string]any{"aud": "sts.amazonaws.com"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(e.dir, "eks-token")
	if err := os.WriteFile(file, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	e.writeConfig("profiles:\n  run:\n    issuer: " + e.sb.Issuer() + "\n    audience: sts.amazonaws.com\n    flow: auto\n")
	e.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = file
	e.env["AWS_ROLE_ARN"] = "arn:aws:iam::1:role/r"
	out, _, code := e.run("status", "--format", "json")
	if code != 0 || !strings.Contains(out, `"chosen": "web-identity-file"`) || !strings.Contains(out, `"name": "github-actions"`) {
		_, se, _ := e.run("status", "--format", "json")
		t.Fatalf("status: exit %d\n%s\n%s", code, out, se)
	}
	// GitHub Actions comes first in the documented order.
	e.env["GITHUB_ACTIONS"] = "true"
	e.env["ACTIONS_ID_TOKEN_REQUEST_URL"] = e.sb.Issuer() + "/gh?api-version=2.0"
	e.env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "gh-request-token"
	out, _, _ = e.run("status", "--format", "json")
	if !strings.Contains(out, `"chosen": "github-actions"`) {
		t.Errorf("with two sources:\n%s", out)
	}
	// The web-identity token is served, read fresh from the file.
	delete(e.env, "GITHUB_ACTIONS")
	delete(e.env, "ACTIONS_ID_TOKEN_REQUEST_URL")
	out, stderr, code := e.run("token")
	if code != 0 || strings.TrimSpace(out) != tok {
		t.Errorf("token: exit %d %s", code, stderr)
	}
}

func TestLogoutAll(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	e.login("alice")
	e.writeConfig(strings.Replace(readFile(t, e.config), "default_profile: sandbox\nprofiles:\n", "default_profile: sandbox\nprofiles:\n  other:\n    issuer: "+e.sb.Issuer()+"\n    client_id: "+e.sb.ClientID()+"\n    flow: device\n", 1))
	e.env["DAGSTER_OIDC_PROFILE"] = "other"
	e.login("bob")
	delete(e.env, "DAGSTER_OIDC_PROFILE")
	if e.keyring.count() == 0 {
		t.Fatal("no keyring items after two logins")
	}
	if _, stderr, code := e.run("logout", "--all"); code != 0 {
		t.Fatalf("logout --all: exit %d %s", code, stderr)
	}
	if n := e.keyring.count(); n != 0 {
		t.Errorf("%d keyring items left", n)
	}
	if files, _ := filepath.Glob(filepath.Join(e.dir, "cache", "*.entry")); len(files) != 0 {
		t.Errorf("cache files left: %v", files)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "cache", "audit-key")); err != nil {
		t.Errorf("the installation's audit key went with the logout: %v", err)
	}
}
