package config

import (
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/proxy/authz"
)

const proxyValid = `profiles:
  ui:
    issuer: https://id.example.com
    client_id: dagster-ui
    proxy:
      url: https://dagster.example.com
      cookie_keys_env: DAGSTER_PROXY_COOKIE_KEYS
      roles:
        - role: admin
          when: "'dagster-admins' in claims.groups"
        - role: launcher
          when: "'data-eng' in claims.groups"
          locations: [etl]
        - deny: true
          when: "claims.email_verified != true"
`

func TestProxyBlock(t *testing.T) {
	f, err := Parse("c.yaml", []byte(proxyValid))
	if err != nil {
		t.Fatal(err)
	}
	x := f.Profiles["ui"].Proxy
	if x.Listen != DefaultProxyListen || x.Upstream != DefaultProxyUpstream || x.SessionLifetime.D() != 12*time.Hour || x.UpstreamTimeout.D() != 2*time.Minute {
		t.Errorf("defaults not applied: %+v", x)
	}
	rules := x.ProxyRules()
	if len(rules) != 3 || rules[0].Role != authz.Admin || rules[1].Locations[0] != "etl" || !rules[2].Deny {
		t.Errorf("rules = %+v", rules)
	}
}

func TestProxyBlockErrors(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"no url", "      url: https://dagster.example.com\n", "", "proxy.url: required: how browsers reach the proxy"},
		{"http url off loopback", "https://dagster.example.com", "http://dagster.example.com", "proxy.url: required"},
		{"url with a path", "https://dagster.example.com", "https://dagster.example.com/dagster", "proxy.url: required"},
		{"no keys", "      cookie_keys_env: DAGSTER_PROXY_COOKIE_KEYS\n", "", "set exactly one of cookie_keys_file and cookie_keys_env"},
		{"both keys", "      cookie_keys_env: DAGSTER_PROXY_COOKIE_KEYS\n", "      cookie_keys_env: X\n      cookie_keys_file: /k\n", "set exactly one of"},
		{"unknown role", "role: admin", "role: owner", `proxy.roles[0].role: unknown role "owner" (one of viewer, launcher, editor, admin)`},
		{"deny with a role", "        - deny: true\n", "        - deny: true\n          role: admin\n", "proxy.roles[2].deny: a deny rule refuses every role"},
		{"empty locations", "locations: [etl]", "locations: []", "an empty list grants nothing"},
		{"no rules", "      roles:\n        - role: admin\n          when: \"'dagster-admins' in claims.groups\"\n        - role: launcher\n          when: \"'data-eng' in claims.groups\"\n          locations: [etl]\n        - deny: true\n          when: \"claims.email_verified != true\"\n", "", "at least one role rule is required"},
		{"no client id", "    client_id: dagster-ui\n", "", "client_id: required for the proxy"},
		{"bad upstream", "      url:", "      upstream: dagster:3000\n      url:", "proxy.upstream: must be dagster-webserver's http(s) URL"},
		{"bad listen", "      url:", "      listen: 8080\n      url:", "proxy.listen: must be HOST:PORT"},
		{"short lifetime", "      url:", "      session_lifetime: 1m\n      url:", "proxy.session_lifetime: 1m0s is outside 5m0s..720h0m0s"},
		{"trusted issuer without audience", "      url:", "      trusted_issuers:\n        - issuer: https://token.actions.githubusercontent.com\n      url:", "trusted_issuers[0].audience: required"},
		{"unknown key", "      url:", "      listen_addr: x\n      url:", "field listen_addr is not a known key in Proxy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Replace(proxyValid, tt.from, tt.to, 1)
			if text == proxyValid {
				t.Fatalf("%q is not in the config", tt.from)
			}
			_, err := Parse("c.yaml", []byte(text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}
