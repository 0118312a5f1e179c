//go:build minio

package awssts

// An opt-in test against MinIO's real STS AssumeRoleWithWebIdentity:
//
//	go test -tags minio ./internal/exchange/awssts/ [-minio /path/to/minio]
//
// It starts a minimal OpenID issuer (discovery + JWKS) on 127.0.0.1, starts
// MinIO configured with that issuer and a role policy, and exchanges a
// signed ID token with this package's client.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
)

var minioBin = flag.String("minio", "/root/.cache/dagster-oidc/bin/minio", "path of the minio server binary")

const minioClientID = "dagster-cli"

// testIssuer serves discovery and JWKS and signs ID tokens.
type testIssuer struct {
	srv    *httptest.Server
	signer jose.Signer
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	iss := &testIssuer{signer: signer}
	mux := http.NewServeMux()
	iss.srv = httptest.NewServer(mux)
	t.Cleanup(iss.srv.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                iss.srv.URL,
			"jwks_uri":                              iss.srv.URL + "/jwks",
			"authorization_endpoint":                iss.srv.URL + "/authorize",
			"token_endpoint":                        iss.srv.URL + "/token",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"},
		}})
	})
	return iss
}

func (iss *testIssuer) token(t *testing.T, aud string, ttl time.Duration) string {
	t.Helper()
	now := time.Now()
	payload, _ := json.Marshal(map[string]any{
		"iss": iss.srv.URL, "sub": "alice", "aud": aud, "azp": aud,
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(), "email": "alice@example.com",
	})
	jws, err := iss.signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// startMinIO runs the server until the test ends and returns its URL.
func startMinIO(t *testing.T, issuerURL string) string {
	t.Helper()
	if _, err := os.Stat(*minioBin); err != nil {
		t.Fatalf("minio binary: %v (build it per docs in shared/reference/testing.md, or pass -minio)", err)
	}
	addr, console := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, *minioBin, "server", "--address", addr, "--console-address", console, t.TempDir())
	cmd.Env = []string{
		"HOME=" + t.TempDir(),
		"MINIO_ROOT_USER=minioadmin",
		"MINIO_ROOT_PASSWORD=minioadmin-secret",
		"MINIO_BROWSER=off",
		"MINIO_IDENTITY_OPENID_CONFIG_URL=" + issuerURL + "/.well-known/openid-configuration",
		"MINIO_IDENTITY_OPENID_CLIENT_ID=" + minioClientID,
		"MINIO_IDENTITY_OPENID_ROLE_POLICY=readwrite",
	}
	var logs lockedBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("minio output:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		resp, err := http.Get(base + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base + "/"
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio did not become ready: %v", err)
		}
	}
	return ""
}

// minioRoleARN is the role ARN MinIO derives from the client ID
// (internal/config/identity/openid: base64url(sha1(client id))).
func minioRoleARN(region string) string {
	sum := sha1.Sum([]byte(minioClientID))
	return fmt.Sprintf("arn:minio:iam:%s::role/%s", region, base64.RawURLEncoding.EncodeToString(sum[:]))
}

func TestMinIOAssumeRoleWithWebIdentity(t *testing.T) {
	iss := newTestIssuer(t)
	endpoint := startMinIO(t, iss.srv.URL)
	c := &Client{HTTP: &http.Client{Timeout: 10 * time.Second}, Endpoint: endpoint, MaxAttempts: 1}

	t.Run("success", func(t *testing.T) {
		tok := iss.token(t, minioClientID, 5*time.Minute)
		start := time.Now()
		call := func() (*Credentials, error) {
			return c.AssumeRoleWithWebIdentity(context.Background(), Request{
				RoleARN: minioRoleARN(""), SessionName: SessionName("", map[string]string{VarEmail: "alice@example.com"}),
				Duration: time.Hour,
			}, func(context.Context, bool) (string, error) { return tok, nil })
		}
		// MinIO reports ready before its IAM subsystem has loaded the OpenID
		// provider and its built-in policies; until then the role "is not
		// defined", or "None of the given policies (`readwrite`) are defined".
		creds, err := call()
		for deadline := time.Now().Add(30 * time.Second); err != nil && minioIAMStarting(err) && time.Now().Before(deadline); {
			time.Sleep(200 * time.Millisecond)
			creds, err = call()
		}
		if err != nil {
			t.Fatal(err)
		}
		if creds.AccessKeyID == "" || creds.SecretAccessKey == "" || creds.SessionToken == "" {
			t.Errorf("incomplete credentials: %+v", creds)
		}
		if d := creds.Expiration.Sub(start); d < 55*time.Minute || d > 65*time.Minute {
			t.Errorf("expiration %s is %s away, want about 1h", creds.Expiration, d)
		}
	})

	t.Run("wrong audience is refused", func(t *testing.T) {
		tok := iss.token(t, "someone-else", 5*time.Minute)
		calls := 0
		_, err := c.AssumeRoleWithWebIdentity(context.Background(), Request{
			RoleARN: minioRoleARN(""), SessionName: "alice",
		}, func(context.Context, bool) (string, error) { calls++; return tok, nil })
		var stsErr *Error
		if !errors.As(err, &stsErr) || stsErr.Code == "" || stsErr.StatusCode < 400 {
			t.Fatalf("err = %v, want an STS error envelope", err)
		}
		t.Logf("minio answered %s (HTTP %d), kind %v, token calls %d", stsErr.Code, stsErr.StatusCode, apperr.KindOf(err), calls)
	})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// lockedBuffer collects the server's output from two pipes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// minioIAMStarting reports whether err is one of the answers MinIO's STS
// gives while its IAM subsystem is still loading after start-up.
func minioIAMStarting(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "is not defined") || strings.Contains(msg, "are defined")
}
