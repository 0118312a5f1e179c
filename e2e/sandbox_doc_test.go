//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sandboxDocBlock returns the lines of the ```sh test=NAME block of
// docs/sandbox.md and the serve command shown just before it.
func sandboxDocBlock(t *testing.T, name string) (serve string, lines []string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "docs", "sandbox.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "```sh test="+name+"\n")
	if start < 0 {
		t.Fatalf("docs/sandbox.md has no ```sh test=%s block", name)
	}
	before := text[:start]
	if i := strings.LastIndex(before, "dagster-oidc-sandbox serve "); i >= 0 {
		serve = before[i:]
		serve = serve[:strings.Index(serve, "\n")]
	}
	body := text[start+len("```sh test="+name+"\n"):]
	body = body[:strings.Index(body, "```")]
	for _, l := range strings.Split(strings.TrimSpace(body), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	return serve, lines
}

// TestIssue16_20_SandboxDocCommands runs docs/sandbox.md's tour of the
// workload flows, GCP and a real SDK call as written: the serve command (on
// a port the OS chooses instead of 8555), then each line in a shell with the
// built binaries and Debian's python3 (boto3 1.26) on PATH and a private HOME.
func TestIssue16_20_SandboxDocCommands(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Fatalf("no Debian python3 with boto3 (%v): run scripts/deps.sh packages", err)
	}
	serveLine, lines := sandboxDocBlock(t, "sandbox-tryout")
	if !strings.Contains(serveLine, "--addr 127.0.0.1:8555") {
		t.Fatalf("the serve command %q does not name --addr 127.0.0.1:8555", serveLine)
	}
	home := t.TempDir()
	pathEnv := filepath.Dir(bin.cli) + ":/usr/bin:/bin"
	env := []string{"HOME=" + home, "PATH=" + pathEnv, "LANG=C.UTF-8", "XDG_CACHE_HOME=" + filepath.Join(home, ".cache")}
	if err := os.MkdirAll(filepath.Join(home, "sandbox"), 0o700); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serve := exec.CommandContext(ctx, "bash", "-c", "exec "+strings.Replace(serveLine, "127.0.0.1:8555", "127.0.0.1:0", 1))
	serve.Dir, serve.Env = home, env
	sc := startServe(t, serve)
	// The last instruction line comes once the config, the token file and
	// the env file are written.
	var addr string
	for sc.Scan() {
		if m := sandboxAddrRE.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
		}
		if strings.HasPrefix(sc.Text(), "GitHub Actions variables") {
			break
		}
	}
	if addr == "" {
		t.Fatal("serve did not print its address")
	}
	go drain(sc)

	script := "set -e\n" + strings.ReplaceAll(strings.Join(lines, "\n"), "127.0.0.1:8555", addr) + "\n"
	runCtx, stop := context.WithTimeout(ctx, 2*time.Minute)
	defer stop()
	sh := exec.CommandContext(runCtx, "bash", "-c", script)
	sh.Dir, sh.Env = home, env
	var out, errOut strings.Builder
	sh.Stdout, sh.Stderr = &out, &errOut
	if err := sh.Run(); err != nil {
		t.Fatalf("the documented commands failed: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	got := out.String()
	for _, want := range []string{
		`"id_token"`, // token --format json of the service-account token
		`"AccessKeyId":"ASIA`,
		"arn:aws:sts::000000000000:assumed-role/pipeline/",                      // boto3 GetCallerIdentity in the exec child
		`"service_account":"pipelines@sandbox-project.iam.gserviceaccount.com"`, // gcp token
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s\nstderr:\n%s", want, got, errOut.String())
		}
	}
	if n := strings.Count(got, `"AccessKeyId":"ASIA`); n != 2 {
		t.Errorf("%d credential_process documents, want 2 (sandbox-k8s and sandbox-github):\n%s", n, got)
	}
}
