package cli

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// TestVerificationFailures feeds the file source one bad token at a time and
// checks each is refused with exit 4 and its own message, nothing cached.
func TestVerificationFailures(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	valid, err := e.sb.MintIDToken(map[string]any{"sub": "alice"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	mint := func(claims map[string]any) string {
		tok, err := e.sb.MintIDToken(claims, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	parts := strings.Split(valid, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 0xff
	badSig := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."

	tests := []struct {
		name  string
		token string
		want  string
	}{
		{"wrong issuer", mint(map[string]any{"iss": "https://evil.example.com"}), `ID token refused: issued by "https://evil.example.com", expected "` + e.sb.Issuer() + `"`},
		{"wrong audience", mint(map[string]any{"aud": "someone-else"}), `wrong audience: the token's audience ["someone-else"] does not include "dagster-oidc"`},
		{"expired", mint(map[string]any{"exp": time.Now().Add(-time.Hour).Unix(), "iat": time.Now().Add(-2 * time.Hour).Unix()}), "the token expired at"},
		{"bad signature", badSig, "ID token refused: signature does not verify against the issuer's published keys"},
		{"alg none", none, "not a signed JWT: unsigned token (alg none)"},
		{"HS256 with the public key as secret", hs256WithPublicKey(t, e.sb.Issuer(), parts[1]), "not a signed JWT: symmetric algorithm HS256 is never accepted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(e.dir, "token.jwt")
			if err := os.WriteFile(path, []byte(tt.token), 0o600); err != nil {
				t.Fatal(err)
			}
			e.writeConfig(fmt.Sprintf(`profiles:
  wl:
    issuer: %s
    audience: %s
    flow: file
    verify: required
    workload:
      path: %s
`, e.sb.Issuer(), e.sb.ClientID(), path))
			out, stderr, code := e.run("token")
			if code != 4 {
				t.Fatalf("exit %d, want 4; stderr %q", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want %q", stderr, tt.want)
			}
			if out != "" || strings.Contains(stderr, parts[1]) {
				t.Errorf("token leaked: stdout %q stderr %q", out, stderr)
			}
			if st, _, _ := e.run("status", "--format", "json"); !strings.Contains(st, `"logged_in": false`) {
				t.Errorf("a refused token was cached: %s", st)
			}
		})
	}
	t.Run("valid token accepted", func(t *testing.T) {
		path := filepath.Join(e.dir, "token.jwt")
		if err := os.WriteFile(path, []byte(valid), 0o600); err != nil {
			t.Fatal(err)
		}
		out, stderr, code := e.run("token")
		if code != 0 || strings.TrimSpace(out) != valid {
			t.Errorf("exit %d stderr %q", code, stderr)
		}
	})
}

// hs256WithPublicKey forges the classic key-confusion token: HS256 signed
// with the issuer's RSA public key (PEM) as the HMAC secret.
func hs256WithPublicKey(t *testing.T, issuer, payloadB64 string) string {
	t.Helper()
	resp, err := http.Get(issuer + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks: %v %s", err, body)
	}
	der, err := x509.MarshalPKIXPublicKey(set.Keys[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(payloadB64)
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFinding15_2WhenReachableNeverCachesAForgedToken: with the issuer
// unreachable, verify: when-reachable accepts a forged workload token only
// after checking iss, aud and exp, says so on stderr, in the JSON and in
// the audit line, and stores nothing: once the issuer answers, the same
// token is refused instead of served from a cache.
func TestFinding15_2WhenReachableNeverCachesAForgedToken(t *testing.T) {
	e := newTestEnv(t, sandbox.Options{})
	path := filepath.Join(e.dir, "token.jwt")
	e.writeConfig(fmt.Sprintf(`profiles:
  wl:
    issuer: %s
    flow: file
    verify: when-reachable
    workload: {path: %s, audience: dagster-oidc}
`, e.sb.Issuer(), path))
	mint := func(claims map[string]any) string {
		claims["sub"] = "system:serviceaccount:dagster:forged"
		tok, err := e.sb.MintIDToken(claims, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(tok, ".")
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		sig[0] ^= 0xff
		forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
		if err := os.WriteFile(path, []byte(forged), 0o600); err != nil {
			t.Fatal(err)
		}
		return forged
	}
	e.down.Store(true)
	for _, tt := range []struct{ name, want string }{
		{"https://evil.example.com", `issued by "https://evil.example.com"`},
		{"", ""},
	} {
		claims := map[string]any{}
		if tt.name != "" {
			claims["iss"] = tt.name
		}
		mint(claims)
		out, stderr, code := e.run("token", "--format", "json")
		if tt.want != "" {
			if code != 4 || !strings.Contains(stderr, tt.want) {
				t.Errorf("wrong issuer with the issuer down: exit %d, stderr %q", code, stderr)
			}
			continue
		}
		if code != 0 || !strings.Contains(out, `"unverified": "the issuer`) || !strings.Contains(stderr, "without checking its signature") {
			t.Fatalf("issuer down: exit %d, stdout %q, stderr %q", code, out, stderr)
		}
	}
	var unverified bool
	for _, a := range auditEvents(t, e) {
		if a["event"] == "token_served" && a["unverified"] == true {
			unverified = true
		}
	}
	if !unverified {
		t.Error("no token_served audit line says the token was unverified")
	}
	e.down.Store(false)
	if _, stderr, code := e.run("token"); code != 4 || !strings.Contains(stderr, "signature does not verify") {
		t.Errorf("issuer back, forged token: exit %d, stderr %q (served from a cache?)", code, stderr)
	}
}

// auditEvents reads every line of e's audit trail.
func auditEvents(t *testing.T, e *testEnv) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.env["DAGSTER_OIDC_STATE_DIR"], "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}
