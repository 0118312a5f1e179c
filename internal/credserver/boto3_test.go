package credserver

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
)

// debianPython is Debian's interpreter with python3-boto3 1.26.27 and
// python3-botocore 1.29.27 (testing.md: the pyenv python3 first on PATH has
// another boto3).
const debianPython = "/usr/bin/python3"

// botoScript prints what boto3's default chain resolved, or the error.
const botoScript = `
import json, boto3
try:
    c = boto3.Session().get_credentials()
    f = c.get_frozen_credentials()
    print(json.dumps({"method": c.method, "access_key": f.access_key, "secret_key": f.secret_key,
                      "token": f.token, "expiry": c._expiry_time.isoformat(), "botocore": boto3.__version__}))
except Exception as e:
    print(json.dumps({"error": type(e).__name__, "message": str(e)}))
`

type botoResult struct {
	Method    string `json:"method"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
	Token     string `json:"token"`
	Expiry    string `json:"expiry"`
	Error     string `json:"error"`
	Message   string `json:"message"`
}

// runBoto3 resolves credentials with boto3 in a clean environment that only
// names the container endpoint.
func runBoto3(t *testing.T, fullURI, token string) botoResult {
	t.Helper()
	if _, err := os.Stat(debianPython); err != nil {
		t.Fatalf("%s is required (apt-get install python3-boto3): %v", debianPython, err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, debianPython, "-c", botoScript)
	cmd.Env = []string{
		"HOME=" + dir,
		"PATH=/usr/bin:/bin",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + fullURI,
		"AWS_CONTAINER_AUTHORIZATION_TOKEN=" + token,
	}
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("python failed: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("python failed: %v", err)
	}
	var r botoResult
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(out))), &r); err != nil {
		t.Fatalf("python printed %q: %v", out, err)
	}
	return r
}

// TestBoto3ContainerProvider uses botocore 1.29.27's ContainerProvider as a
// real client of the endpoint.
func TestBoto3ContainerProvider(t *testing.T) {
	c := testCreds
	c.Expiration = time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	s := start(t, fixedProvider(c), Options{})

	got := runBoto3(t, s.URL(), s.AuthToken())
	if got.Error != "" {
		t.Fatalf("boto3: %s: %s", got.Error, got.Message)
	}
	if got.Method != "container-role" {
		t.Errorf("boto3 used method %q, want container-role", got.Method)
	}
	if got.AccessKey != c.AccessKeyID || got.SecretKey != c.SecretAccessKey || got.Token != c.SessionToken {
		t.Errorf("boto3 read %+v, want the served credentials", got)
	}
	expiry, err := time.Parse(time.RFC3339, got.Expiry)
	if err != nil || !expiry.Equal(c.Expiration) {
		t.Errorf("boto3 expiry %q, want %s", got.Expiry, c.Expiration.Format(time.RFC3339))
	}
}

// TestBoto3SeesRefusals checks what a boto3 user reads when the endpoint
// refuses; botocore retries three times with 1 s pauses, so this takes ~2 s.
func TestBoto3SeesRefusals(t *testing.T) {
	tests := []struct {
		name      string
		provider  Provider
		badToken  bool
		wantInMsg string
	}{
		{"wrong token", fixedProvider(testCreds), true, "AccessDenied"},
		{"login required", func(context.Context) (*Credentials, error) {
			return nil, apperr.LoginRequired(errors.New("refresh token expired"), "run: dagster-oidc login --profile dev")
		}, false, "run: dagster-oidc login --profile dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, tt.provider, Options{})
			token := s.AuthToken()
			if tt.badToken {
				token = "not-the-token"
			}
			got := runBoto3(t, s.URL(), token)
			if got.Error != "CredentialRetrievalError" || !strings.Contains(got.Message, tt.wantInMsg) {
				t.Errorf("boto3 error %s: %q, want CredentialRetrievalError mentioning %q", got.Error, got.Message, tt.wantInMsg)
			}
		})
	}
}
