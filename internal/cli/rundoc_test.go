package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// TestFinding16_1DagsterGuideRunWorkerProfile copies the run-worker profile
// of docs/dagster.md (flow: kubernetes, workload.audience: dagster-oidc, no
// client_id), points it at the sandbox, and runs exec with it end to end:
// the service-account token verifies against workload.audience, the STS
// emulator issues the etl_daily role's credentials, and the child's
// credential endpoint serves them, with the token file rotated in between.
func TestFinding16_1DagsterGuideRunWorkerProfile(t *testing.T) {
	const writer, reader = "arn:aws:iam::123456789012:role/etl-daily-writer", "arn:aws:iam::123456789012:role/reporting-reader"
	e := newTestEnv(t, sandbox.Options{Roles: []sandbox.Role{
		{ARN: writer, SubjectPattern: "system:serviceaccount:*"},
		{ARN: reader, SubjectPattern: "system:serviceaccount:*"},
	}})
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "dagster.md"))
	if err != nil {
		t.Fatal(err)
	}
	var profile string
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		if strings.Contains(m[1], "flow: kubernetes") && strings.Contains(m[1], "audience: dagster-oidc") && strings.Contains(m[1], "profiles:") {
			profile = m[1]
			break
		}
	}
	if profile == "" || strings.Contains(profile, "client_id") {
		t.Fatalf("docs/dagster.md has no run-worker profile with flow: kubernetes, workload.audience: dagster-oidc and no client_id:\n%s", profile)
	}
	// The sandbox's rotating service-account token file, as the kubelet
	// keeps a projected token; a lifetime of an hour, so only the explicit
	// Rotate below replaces it while the test runs.
	tokens, err := e.sb.KeepTokenFile(context.Background(), sandbox.TokenFileOptions{
		Path:     filepath.Join(e.dir, "sa-token"),
		Subject:  "system:serviceaccount:dagster:run-worker",
		Audience: "dagster-oidc",
		Lifetime: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tokens.Close)
	tokenPath := tokens.Path()
	// Only what the sandbox must replace: the issuer, the token path and
	// the STS endpoint.
	profile = regexp.MustCompile(`(?m)^(\s*)issuer: .*$`).ReplaceAllString(profile, "${1}issuer: "+e.sb.Issuer())
	profile = regexp.MustCompile(`(?m)^(\s*)path: /var/run/secrets/tokens/dagster-oidc$`).ReplaceAllString(profile, "${1}path: "+tokenPath)
	profile = regexp.MustCompile(`(?m)^(\s*)region: (.*)$`).ReplaceAllString(profile, "${1}region: ${2}\n${1}sts_endpoint: "+e.sb.STSEndpoint())
	e.writeConfig(profile)
	if _, stderr, code := e.run("config", "validate"); code != 0 {
		t.Fatalf("config validate: exit %d\n%s\n%s", code, stderr, profile)
	}

	stdin, release := io.Pipe()
	t.Cleanup(func() { release.Close() })
	watch := newEnvWatcher()
	done := make(chan execResult, 1)
	args := append([]string{"exec", "--profile", "prod", "--"}, execChild(t, "env; echo "+execEnvEnd+"; read line; exit 0", execRunID, "etl_daily")...)
	go func() { done <- execCLI(e, stdin, watch, args...) }()
	select {
	case <-watch.ready:
	case r := <-done:
		t.Fatalf("exec with the guide's profile ended (exit %d) before its child started:\n%s", r.code, r.stderr)
	case <-time.After(execWait):
		t.Fatal("the child did not start in time")
	}
	child := watch.env()
	get := func() (string, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, child["AWS_CONTAINER_CREDENTIALS_FULL_URI"], nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", child["AWS_CONTAINER_AUTHORIZATION_TOKEN"])
		resp, err := (&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var c struct {
			AccessKeyID string `json:"AccessKeyId"`
			Token       string
		}
		if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("credential endpoint: %d %v", resp.StatusCode, err)
		}
		return c.AccessKeyID, c.Token
	}
	if key, session := get(); key == "" || session == "" {
		t.Errorf("incomplete credentials: key %q", key)
	}
	if child["AWS_REGION"] != "eu-west-1" {
		t.Errorf("AWS_REGION = %q, want the guide's eu-west-1", child["AWS_REGION"])
	}
	if err := tokens.Rotate(); err != nil {
		t.Fatal(err)
	}
	if key, _ := get(); key == "" {
		t.Error("no credentials after the token file rotated")
	}
	release.Close()
	r := <-done
	if r.code != 0 {
		t.Fatalf("exec exit %d:\n%s", r.code, r.stderr)
	}
	lines := execAuditLines(t, e)
	if ex := lines["exchange"]; len(ex) == 0 || ex[0].Role != writer || ex[0].Outcome != "ok" || ex[0].SessionHash != auditSessionHash(t, e, "dagster-etl_daily-"+execRunID) {
		t.Errorf("exchange audit lines = %+v, want the etl-daily-writer role for the guide's session name", ex)
	}
}
