//go:build e2e

package e2e

// The AWS chain end to end: the real dagster-oidc binary logs in to the
// sandbox provider, exchanges the ID token at MinIO's real STS
// (AssumeRoleWithWebIdentity, policy from the `policy` claim), and Debian's
// AWS CLI 2.9.19 (/usr/bin/aws) and boto3 1.26 / botocore 1.29
// (/usr/bin/python3) use it as their credential_process against MinIO's S3.
//
//	go test -tags e2e -run AWS ./e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

const (
	// awsCLI and awsPython are Debian's; the first aws and python3 on PATH
	// are other versions (see testing.md).
	awsCLI    = "/usr/bin/aws"
	awsPython = "/usr/bin/python3"
	// minioRoleARN is ARN-shaped for our client's 20–2048 check; MinIO in
	// claim mode treats an unknown RoleArn as absent.
	minioRoleARN = "arn:minio:iam:::role/dagster"
	// awsProfile is the AWS config profile `aws configure` writes.
	awsProfile = "data"
	// awsRule maps alice (data-eng) and bob (analysts), not mallory.
	awsRule = `'data-eng' in claims.groups || 'analysts' in claims.groups`
)

// awsWorld is a world whose profile exchanges at MinIO through the counting
// proxy, with an AWS config file of its own.
type awsWorld struct {
	*world
	minio *minioServer
	// awsConfig is AWS_CONFIG_FILE; it exists once `aws configure` ran.
	awsConfig string
}

func newAWSWorld(t *testing.T) *awsWorld {
	t.Helper()
	w := newWorld(t, sandbox.Options{}, "")
	m := startMinIO(t, w)
	w.writeConfig(w.profile(fmt.Sprintf(`    aws:
      region: us-east-1
      sts_endpoint: %s
      duration: 1h
      roles:
        - role_arn: %s
          when: %q
`, m.STS, minioRoleARN, awsRule)))
	a := &awsWorld{world: w, minio: m, awsConfig: filepath.Join(w.dir, "aws", "config")}
	w.env["AWS_CONFIG_FILE"] = a.awsConfig
	w.env["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(w.dir, "aws", "credentials")
	w.env["AWS_EC2_METADATA_DISABLED"] = "true"
	w.env["AWS_PAGER"] = ""
	return a
}

// configure runs `dagster-oidc aws configure --aws-profile data`.
func (a *awsWorld) configure() {
	a.t.Helper()
	_, stderr, code := a.run("aws", "configure", "--aws-profile", awsProfile)
	if code != 0 {
		a.t.Fatalf("aws configure: exit %d\n%s", code, stderr)
	}
}

// tool runs an external program with the world's environment plus env.
func (a *awsWorld) tool(env map[string]string, name string, args ...string) (string, string, int) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := a.command(ctx, name, args...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		a.t.Fatalf("running %s %v: %v", name, args, err)
	}
	a.t.Logf("%s %s: exit %d in %s", filepath.Base(name), strings.Join(args, " "), code, time.Since(start).Round(time.Millisecond))
	return out.String(), errOut.String(), code
}

// aws runs /usr/bin/aws with the profile and MinIO's endpoint.
func (a *awsWorld) aws(args ...string) (string, string, int) {
	a.t.Helper()
	return a.tool(nil, awsCLI, append([]string{"--profile", awsProfile, "--endpoint-url", a.minio.URL}, args...)...)
}

// mustAWS runs /usr/bin/aws and fails the test unless it succeeds.
func (a *awsWorld) mustAWS(args ...string) string {
	a.t.Helper()
	out, stderr, code := a.aws(args...)
	if code != 0 {
		a.t.Fatalf("aws %v: exit %d\nstdout: %s\nstderr: %s\n%s", args, code, out, stderr, a.minio.proxy)
	}
	return out
}

// python runs a script of testdata/aws with Debian's python3 and AWS_PROFILE=data.
func (a *awsWorld) python(script string, args ...string) (string, string, int) {
	a.t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", "aws", script))
	if err != nil {
		a.t.Fatal(err)
	}
	return a.tool(map[string]string{"AWS_PROFILE": awsProfile}, awsPython, append([]string{path}, args...)...)
}

// credentialProcess runs `dagster-oidc aws credential-process` and decodes
// its stdout strictly.
func (a *awsWorld) credentialProcess() processCredentials {
	a.t.Helper()
	out, stderr, code := a.run("aws", "credential-process")
	if code != 0 {
		a.t.Fatalf("aws credential-process: exit %d\n%s\n%s", code, stderr, a.minio.proxy)
	}
	return decodeProcessCredentials(a.t, out)
}

// processCredentials is the credential_process document (specs.md §1.1).
type processCredentials struct {
	Version         int
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      string
	AccountId       string `json:",omitempty"`
}

// decodeProcessCredentials requires exactly one JSON object with the
// known fields only, every credential field set, and an RFC 3339 expiry.
func decodeProcessCredentials(t *testing.T, out string) processCredentials {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var c processCredentials
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("stdout is not one credential_process JSON object: %v\n%q", err, out)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("stdout has more than one JSON value (next: %v)\n%q", err, out)
	}
	if c.Version != 1 || c.AccessKeyId == "" || c.SecretAccessKey == "" || c.SessionToken == "" {
		t.Fatalf("incomplete credential_process document: Version %d, AccessKeyId %t, SecretAccessKey %t, SessionToken %t",
			c.Version, c.AccessKeyId != "", c.SecretAccessKey != "", c.SessionToken != "")
	}
	if _, err := time.Parse(time.RFC3339, c.Expiration); err != nil {
		t.Fatalf("Expiration %q is not RFC 3339: %v", c.Expiration, err)
	}
	return c
}

// wantSTSCalls fails unless the proxy forwarded exactly n STS requests.
func (a *awsWorld) wantSTSCalls(n int, when string) {
	a.t.Helper()
	if got := a.minio.STSCalls(); got != n {
		a.t.Errorf("%s: %s, want %d", when, a.minio.proxy, n)
	}
}

// logVersions records which AWS clients this run covered.
func (a *awsWorld) logVersions() {
	a.t.Helper()
	out, stderr, code := a.tool(nil, awsCLI, "--version")
	if code != 0 {
		a.t.Fatalf("%s --version: exit %d: %s", awsCLI, code, stderr)
	}
	a.t.Logf("AWS CLI: %s", strings.TrimSpace(out+stderr))
	out, stderr, code = a.tool(nil, awsPython, "-c", "import boto3, botocore; print('boto3', boto3.__version__, 'botocore', botocore.__version__)")
	if code != 0 {
		a.t.Fatalf("%s: boto3 is not importable: exit %d: %s", awsPython, code, stderr)
	}
	a.t.Logf("Python: %s", strings.TrimSpace(out))
}

func TestAWSConfigureThenAWSCLIAndBoto3UseMinIO(t *testing.T) {
	a := newAWSWorld(t)
	a.logVersions()
	a.login("alice")
	a.configure()

	data, err := os.ReadFile(a.awsConfig)
	if err != nil {
		t.Fatalf("aws configure wrote no AWS config: %v", err)
	}
	wantLines := []string{
		"[profile " + awsProfile + "]",
		// The warm front is installed next to the binary, so the AWS CLI
		// and boto3 below start it.
		"credential_process = " + bin.front + " aws credential-process --profile sandbox --config " + a.config,
		"region = us-east-1",
	}
	for _, l := range wantLines {
		if !strings.Contains("\n"+string(data), "\n"+l+"\n") {
			t.Errorf("AWS config lacks the line %q:\n%s", l, data)
		}
	}
	if fi, err := os.Stat(a.awsConfig); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("new AWS config: %v, mode %v, want 0600", err, fi.Mode().Perm())
	}
	if fi, err := os.Stat(filepath.Dir(a.awsConfig)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("new AWS config directory: %v, mode %v, want 0700", err, fi.Mode().Perm())
	}
	a.configure()
	if again, err := os.ReadFile(a.awsConfig); err != nil || !bytes.Equal(again, data) {
		t.Errorf("a second aws configure changed the file (%v):\n%s\nthen:\n%s", err, data, again)
	}

	bucket := "alice-e2e"
	a.mustAWS("s3", "mb", "s3://"+bucket)
	src := filepath.Join(a.dir, "upload.txt")
	content := "hello from dagster-oidc through MinIO\n"
	if err := os.WriteFile(src, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	a.mustAWS("s3", "cp", src, "s3://"+bucket+"/dir/upload.txt")
	if out := a.mustAWS("s3", "ls", "s3://"+bucket+"/dir/"); !strings.Contains(out, "upload.txt") {
		t.Errorf("aws s3 ls does not list upload.txt:\n%s", out)
	}
	dst := filepath.Join(a.dir, "download.txt")
	a.mustAWS("s3", "cp", "s3://"+bucket+"/dir/upload.txt", dst)
	if got, err := os.ReadFile(dst); err != nil || string(got) != content {
		t.Errorf("downloaded %q (%v), want %q", got, err, content)
	}

	out, stderr, code := a.python("boto3_roundtrip.py", a.minio.URL, bucket, "boto3.txt", "written by boto3")
	if code != 0 {
		t.Fatalf("boto3 round trip: exit %d\n%s\n%s", code, stderr, a.minio.proxy)
	}
	var res struct {
		Boto3            string   `json:"boto3"`
		Botocore         string   `json:"botocore"`
		CredentialMethod string   `json:"credential_method"`
		Keys             []string `json:"keys"`
		Body             string   `json:"body"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("boto3 script output: %v\n%s", err, out)
	}
	t.Logf("boto3 %s, botocore %s, credentials from %q", res.Boto3, res.Botocore, res.CredentialMethod)
	if res.Body != "written by boto3" || strings.Join(res.Keys, ",") != "boto3.txt,dir/upload.txt" {
		t.Errorf("boto3 read back body %q, keys %v; want %q and [boto3.txt dir/upload.txt]", res.Body, res.Keys, "written by boto3")
	}
	if res.CredentialMethod != "custom-process" {
		t.Errorf("boto3 took its credentials from %q, want custom-process (credential_process)", res.CredentialMethod)
	}
	// Five AWS CLI commands and one boto3 client, one exchange.
	a.wantSTSCalls(1, "after every aws and boto3 call")
}

func TestAWSSecondCallWithinLifetimeSkipsSTS(t *testing.T) {
	a := newAWSWorld(t)
	a.login("alice")
	a.configure()

	a.mustAWS("s3api", "list-buckets")
	a.wantSTSCalls(1, "after the first aws call")
	a.mustAWS("s3api", "list-buckets")
	a.wantSTSCalls(1, "after a second aws call within the credentials' life")

	first, second := a.credentialProcess(), a.credentialProcess()
	if first.AccessKeyId != second.AccessKeyId || first.Expiration != second.Expiration {
		t.Errorf("two credential-process calls returned different credentials (%s until %s, then %s until %s)",
			first.AccessKeyId, first.Expiration, second.AccessKeyId, second.Expiration)
	}
	a.wantSTSCalls(1, "after two more credential-process calls")
}

func TestAWSReadonlyPolicyClaimIsEnforcedByMinIO(t *testing.T) {
	a := newAWSWorld(t)
	a.login("alice")
	a.configure()
	bucket := "shared-e2e"
	a.mustAWS("s3", "mb", "s3://"+bucket)
	seed := filepath.Join(a.dir, "seed.txt")
	if err := os.WriteFile(seed, []byte("seeded by alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a.mustAWS("s3", "cp", seed, "s3://"+bucket+"/seed.txt")
	alice := a.credentialProcess()

	if _, stderr, code := a.run("logout"); code != 0 {
		t.Fatalf("logout: exit %d\n%s", code, stderr)
	}
	a.login("bob")
	bob := a.credentialProcess()
	if bob.AccessKeyId == alice.AccessKeyId {
		t.Fatalf("after logout and bob's login, credential-process still serves alice's credentials %s", alice.AccessKeyId)
	}
	a.wantSTSCalls(2, "after alice's and bob's exchanges")

	// readonly is s3:GetObject + s3:GetBucketLocation: bob reads the object...
	dst := filepath.Join(a.dir, "bob.txt")
	a.mustAWS("s3", "cp", "s3://"+bucket+"/seed.txt", dst)
	if got, err := os.ReadFile(dst); err != nil || string(got) != "seeded by alice\n" {
		t.Errorf("bob downloaded %q (%v), want alice's seed", got, err)
	}
	// ...and is refused every write, and listing (no s3:ListBucket).
	for _, args := range [][]string{
		{"s3", "cp", seed, "s3://" + bucket + "/bob.txt"},
		{"s3", "mb", "s3://bob-e2e"},
		{"s3", "ls", "s3://" + bucket},
	} {
		out, stderr, code := a.aws(args...)
		if code == 0 || !strings.Contains(stderr, "AccessDenied") {
			t.Errorf("bob's aws %v: exit %d, want AccessDenied from MinIO\nstdout: %s\nstderr: %s", args, code, out, stderr)
		}
	}
	a.wantSTSCalls(2, "after bob's aws calls")
}

func TestAWSReloginAsAnotherUserDoesNotReuseCredentials(t *testing.T) {
	a := newAWSWorld(t)
	a.login("alice")
	alice := a.credentialProcess()
	// A second login, as someone else, without logout in between.
	a.login("bob")
	bob := a.credentialProcess()
	if bob.AccessKeyId == alice.AccessKeyId {
		t.Errorf("after logging in as bob, credential-process serves the credentials exchanged for alice (%s): the AWS cache is not bound to the identity", alice.AccessKeyId)
	}
	a.wantSTSCalls(2, "one exchange per identity")
}

func TestAWSUnmappedUserIsDeniedBeforeSTS(t *testing.T) {
	a := newAWSWorld(t)
	a.login("mallory")
	a.configure()

	out, stderr, code := a.run("aws", "credential-process")
	if code != 4 {
		t.Errorf("aws credential-process for mallory: exit %d, want 4\n%s", code, stderr)
	}
	if out != "" {
		t.Errorf("a denied credential-process printed to stdout: %q", out)
	}
	for _, want := range []string{"rule 1", minioRoleARN, "claim groups is absent", "dagster-oidc explain"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	t.Logf("credential-process stderr for mallory:\n%s", stderr)
	a.wantSTSCalls(0, "after a policy denial")

	awsOut, awsErr, awsCode := a.aws("s3api", "list-buckets")
	if awsCode == 0 {
		t.Fatalf("aws with mallory's profile succeeded:\n%s", awsOut)
	}
	for _, want := range []string{"custom-process", "claim groups is absent"} {
		if !strings.Contains(awsErr, want) {
			t.Errorf("the AWS CLI's error lacks %q:\n%s", want, awsErr)
		}
	}
	t.Logf("AWS CLI stderr for mallory:\n%s", awsErr)
	a.wantSTSCalls(0, "after the AWS CLI's attempt")
}

func TestAWSCredentialProcessJSONAndEnvForShell(t *testing.T) {
	a := newAWSWorld(t)
	a.login("alice")
	start := time.Now()
	c := a.credentialProcess()
	exp, _ := time.Parse(time.RFC3339, c.Expiration)
	if left := exp.Sub(start); left < 55*time.Minute || left > 65*time.Minute {
		t.Errorf("Expiration %s is %s away, want about the configured 1h", c.Expiration, left.Round(time.Second))
	}
	if c.AccountId != "" {
		t.Logf("AccountId %q", c.AccountId)
	}

	// No AWS config file here: only the exported variables can authenticate.
	script := `set -e
eval "$("$DAGSTER_OIDC_BIN" aws env --format sh)"
test -n "$AWS_CREDENTIAL_EXPIRATION"
/usr/bin/aws s3 mb s3://env-e2e --endpoint-url "$MINIO_URL" >&2
/usr/bin/aws s3 ls --endpoint-url "$MINIO_URL"`
	out, stderr, code := a.tool(map[string]string{"DAGSTER_OIDC_BIN": bin.cli, "MINIO_URL": a.minio.URL}, "/bin/sh", "-c", script)
	if code != 0 {
		t.Fatalf("sh -c 'eval \"$(dagster-oidc aws env --format sh)\"; aws ...': exit %d\n%s", code, stderr)
	}
	if !strings.Contains(out, "env-e2e") {
		t.Errorf("aws s3 ls with the exported credentials does not list env-e2e:\n%s", out)
	}
	if _, err := os.Stat(a.awsConfig); !os.IsNotExist(err) {
		t.Errorf("an AWS config file exists (%v); the env test must not depend on one", err)
	}
	a.wantSTSCalls(1, "credential-process and aws env share the cached credentials")
}

func TestAWSCredentialProcessWithoutLoginFailsFast(t *testing.T) {
	a := newAWSWorld(t)
	a.configure()
	const hint = "run: dagster-oidc login --profile sandbox"

	start := time.Now()
	out, stderr, code := a.run("aws", "credential-process")
	took := time.Since(start)
	if code != 3 {
		t.Errorf("aws credential-process without a login: exit %d, want 3\n%s", code, stderr)
	}
	if took > 5*time.Second {
		t.Errorf("aws credential-process without a login took %s, want a fast failure", took.Round(time.Millisecond))
	}
	if out != "" {
		t.Errorf("stdout: %q, want nothing", out)
	}
	if !strings.Contains(stderr, hint) {
		t.Errorf("stderr lacks %q:\n%s", hint, stderr)
	}
	t.Logf("credential-process without a login: exit %d in %s, stderr:\n%s", code, took.Round(time.Millisecond), stderr)

	pyOut, pyErr, pyCode := a.python("boto3_list_buckets.py", a.minio.URL)
	if pyCode != 0 {
		t.Fatalf("boto3 script: exit %d\n%s", pyCode, pyErr)
	}
	var res struct {
		OK        bool   `json:"ok"`
		ErrorType string `json:"error_type"`
		Error     string `json:"error"`
	}
	if err := json.Unmarshal([]byte(pyOut), &res); err != nil {
		t.Fatalf("boto3 script output: %v\n%s", err, pyOut)
	}
	if res.OK || res.ErrorType != "CredentialRetrievalError" || !strings.Contains(res.Error, hint) {
		t.Errorf("boto3 without a login: ok %t, %s: %s; want CredentialRetrievalError containing %q", res.OK, res.ErrorType, res.Error, hint)
	}
	t.Logf("boto3 without a login: %s: %s", res.ErrorType, res.Error)
	a.wantSTSCalls(0, "without a login")
}
