package credentials

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
)

// TestProxy: the proxy block with the flags' overrides, and one usage
// refusal (exit 2) with its hint for each bad block or key source.
func TestProxy(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	dir := t.TempDir()
	writeKeys := func(name string, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(key+"\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	private, shared := writeKeys("private", 0o600), writeKeys("shared", 0o644)
	const roles = "      roles:\n        - role: viewer\n          when: \"true\"\n"
	tests := []struct {
		name     string
		block    string
		env      map[string]string
		q        ProxyRequest
		wantErr  string
		wantHint string
	}{
		{name: "no block", wantErr: "profile dev has no proxy block", wantHint: "docs/proxy.md"},
		{name: "keys file", block: "      url: https://dagster.example.com\n      cookie_keys_file: " + private + "\n" + roles},
		{name: "keys variable and overrides", block: "      url: https://dagster.example.com\n      cookie_keys_env: KEYS\n" + roles,
			env: map[string]string{"KEYS": key}, q: ProxyRequest{Listen: "127.0.0.1:0", Upstream: "http://127.0.0.1:3001", URL: "https://ui.example.com"}},
		{name: "variable unset", block: "      url: https://dagster.example.com\n      cookie_keys_env: KEYS\n" + roles,
			wantErr: "cookie_keys_env names KEYS, which is not set", wantHint: "openssl rand -base64 32"},
		{name: "keys file readable by others", block: "      url: https://dagster.example.com\n      cookie_keys_file: " + shared + "\n" + roles,
			wantErr: "is readable by others", wantHint: "chmod 600 " + shared},
		{name: "bad url override", block: "      url: https://dagster.example.com\n      cookie_keys_file: " + private + "\n" + roles,
			q: ProxyRequest{URL: "not a url"}, wantErr: `proxy url "not a url" is not a URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := "profiles:\n  dev:\n    issuer: https://id.example.com\n    client_id: c\n"
			if tt.block != "" {
				yaml += "    proxy:\n" + tt.block
			}
			s := openYAML(t, yaml, tt.env)
			p := s.Profile
			opts, x, err := s.Proxy(tt.q)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || apperr.ExitCode(err) != 2 || !strings.Contains(apperr.HintOf(err), tt.wantHint) {
					t.Fatalf("err = %v (exit %d, hint %q), want %q with hint %q", err, apperr.ExitCode(err), apperr.HintOf(err), tt.wantErr, tt.wantHint)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := *p.Proxy
			for _, o := range []struct{ flag, dst *string }{{&tt.q.Listen, &want.Listen}, {&tt.q.Upstream, &want.Upstream}, {&tt.q.URL, &want.URL}} {
				if *o.flag != "" {
					*o.dst = *o.flag
				}
			}
			if x.Listen != want.Listen || x.Upstream != want.Upstream || x.URL != want.URL {
				t.Errorf("block in effect: listen %q upstream %q url %q; want %q %q %q", x.Listen, x.Upstream, x.URL, want.Listen, want.Upstream, want.URL)
			}
			if opts.ExternalURL.String() != want.URL || opts.Upstream.String() != want.Upstream || opts.Profile != "dev" || opts.Sealer == nil || opts.Audit == nil {
				t.Errorf("options: external %s upstream %s profile %q sealer %v audit %v", opts.ExternalURL, opts.Upstream, opts.Profile, opts.Sealer != nil, opts.Audit != nil)
			}
			if got, wantCB := opts.SignIn.RedirectURL, strings.TrimSuffix(want.URL, "/")+"/_dagster-oidc/callback"; got != wantCB {
				t.Errorf("redirect URL %q, want %q", got, wantCB)
			}
		})
	}
}

// openYAML opens profile dev of a profiles file with vars as the
// environment and the real clock.
func openYAML(t *testing.T, yaml string, vars map[string]string) *Service {
	t.Helper()
	cfg, err := config.Parse("c.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Profile("dev")
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{Env: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, Clock: clock.Real{},
		CacheDir: t.TempDir(), StateDir: t.TempDir(), Home: t.TempDir(), Stderr: &bytes.Buffer{}}
	s, err := Open(d, cfg, p, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
