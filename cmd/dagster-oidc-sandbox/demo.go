package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

type demoOptions struct {
	CLI  string
	User string
	Keep bool
}

func newDemoCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Drive the real dagster-oidc binary through the whole chain, offline",
		Long: `Start the sandbox OpenID provider and STS emulator on 127.0.0.1, then run
the real dagster-oidc binary as a user would: a device-code login approved as
a demo user, verification and caching of the ID token, status, a cached
token, the policy decision, and an AWS credential_process document from the
STS emulator. Every step is narrated; nothing leaves this machine.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), o, stdout, stderr)
		},
	}
	cmd.Flags().StringVar(&o.CLI, "cli", "", "path of the dagster-oidc binary (default: next to this one, else on PATH)")
	cmd.Flags().StringVar(&o.User, "user", "alice", "demo user who approves the login (alice, bob or mallory)")
	cmd.Flags().BoolVar(&o.Keep, "keep", false, "keep the demo's temporary HOME and print its path")
	return cmd
}

// demo holds one run's state.
type demo struct {
	cli    string
	env    []string
	out    io.Writer
	sb     *sandbox.Server
	step   int
	config string
}

func runDemo(ctx context.Context, o *demoOptions, stdout, stderr io.Writer) error {
	cli, err := findCLI(o.CLI)
	if err != nil {
		return err
	}
	sb, err := sandbox.Start(ctx, sandbox.Options{})
	if err != nil {
		return fmt.Errorf("could not start the sandbox provider: %w", err)
	}
	defer sb.Close()
	home, err := os.MkdirTemp("", "dagster-oidc-demo-")
	if err != nil {
		return err
	}
	if o.Keep {
		fmt.Fprintf(stderr, "demo HOME kept at %s\n", home)
	} else {
		defer os.RemoveAll(home)
	}
	d := &demo{cli: cli, out: stdout, sb: sb, config: filepath.Join(home, "config.yaml")}
	d.env = []string{
		"HOME=" + home,
		"PATH=" + os.Getenv("PATH"),
		"DAGSTER_OIDC_CONFIG=" + d.config,
		"DAGSTER_OIDC_CACHE_DIR=" + filepath.Join(home, "cache"),
		"DAGSTER_OIDC_STATE_DIR=" + filepath.Join(home, "state"),
		"DAGSTER_OIDC_NO_BROWSER=1",
	}
	if err := os.WriteFile(d.config, []byte(sandboxProfile(sb)), 0o600); err != nil {
		return err
	}

	d.say("The sandbox OpenID provider is up at %s (client %q) with an STS emulator at %s.", sb.Issuer(), sb.ClientID(), sb.STSEndpoint())
	d.say("dagster-oidc is %s; its profile file is %s:", cli, d.config)
	d.quote(sandboxProfile(sb))

	d.say("Log in with the device-code flow, as on a terminal without a browser. The demo approves the code as %q, as that user would in a browser.", o.User)
	if err := d.login(ctx, o.User); err != nil {
		return err
	}

	d.say("The ID token was verified (signature against the issuer's JWKS, iss, aud, exp) and cached. `dagster-oidc status`:")
	if _, err := d.run(ctx, true, "status"); err != nil {
		return err
	}

	d.say("`dagster-oidc token --format json` prints the verified identity from the cache, with no network request:")
	out, err := d.run(ctx, false, "token", "--format", "json")
	if err != nil {
		return err
	}
	var tok struct {
		Expiry time.Time      `json:"expiry"`
		Claims map[string]any `json:"claims"`
	}
	if err := json.Unmarshal([]byte(out), &tok); err != nil {
		return fmt.Errorf("token --format json printed something that is not JSON: %w", err)
	}
	d.quote(fmt.Sprintf("subject: %v\nemail:   %v\ngroups:  %v\nissuer:  %v\nexpires: %s", tok.Claims["sub"], tok.Claims["email"], tok.Claims["groups"], tok.Claims["iss"], tok.Expiry.Format(time.RFC3339)))

	d.say("`dagster-oidc explain` shows which AWS role the policy picks for these claims, without calling STS:")
	if _, err := d.run(ctx, true, "explain"); err != nil {
		if o.User != "alice" {
			d.say("No rule maps %q to a role (exit 4): that is the policy working. The demo ends here.", o.User)
			return nil
		}
		return err
	}

	d.say("`dagster-oidc aws credential-process` exchanges the token at the STS emulator (AssumeRoleWithWebIdentity) and prints what the AWS SDKs read (secrets shortened here):")
	out, err = d.run(ctx, false, "aws", "credential-process")
	if err != nil {
		return err
	}
	var creds map[string]any
	if err := json.Unmarshal([]byte(out), &creds); err != nil {
		return fmt.Errorf("credential-process printed something that is not JSON: %w", err)
	}
	for _, k := range []string{"SecretAccessKey", "SessionToken"} {
		if s, ok := creds[k].(string); ok && len(s) > 8 {
			creds[k] = s[:8] + "..."
		}
	}
	pretty, _ := json.MarshalIndent(creds, "", "  ")
	d.quote(string(pretty))
	st := sb.Stats()
	d.say("A second call is served from the cache: STS calls so far: %d.", st.STSCalls)
	if _, err := d.run(ctx, false, "aws", "credential-process"); err != nil {
		return err
	}
	if st2 := sb.Stats(); st2.STSCalls != st.STSCalls {
		return fmt.Errorf("the second credential-process call reached STS (%d calls); the cache did not work", st2.STSCalls)
	}
	d.say("STS calls after the second call: %d. Done: %v is logged in and holds short-lived AWS credentials.", sb.Stats().STSCalls, tok.Claims["email"])
	return nil
}

func sandboxProfile(sb *sandbox.Server) string {
	return fmt.Sprintf(`default_profile: sandbox
profiles:
  sandbox:
    environment: dev
    issuer: %s
    client_id: %s
    scopes: [openid, email, profile, groups, offline_access]
    flow: device
    cache: file
    aws:
      region: us-east-1
      sts_endpoint: %s
      roles:
        - role_arn: arn:aws:iam::000000000000:role/data-eng
          when: "'data-eng' in claims.groups"
`, sb.Issuer(), sb.ClientID(), sb.STSEndpoint())
}

func (d *demo) say(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.out, "\n[%d] %s\n", d.step, fmt.Sprintf(format, args...))
}

func (d *demo) quote(s string) {
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		fmt.Fprintf(d.out, "    %s\n", line)
	}
}

// run runs the CLI; with show, its stdout is quoted. Its stderr is quoted on failure.
func (d *demo) run(ctx context.Context, show bool, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, d.cli, args...)
	cmd.Env = d.env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	fmt.Fprintf(d.out, "    $ dagster-oidc %s\n", strings.Join(args, " "))
	err := cmd.Run()
	if show {
		d.quote(out.String())
	}
	if err != nil {
		d.quote(errOut.String())
		return "", fmt.Errorf("dagster-oidc %s failed: %w", strings.Join(args, " "), err)
	}
	return out.String(), nil
}

var demoUserCode = regexp.MustCompile(`the code ([A-Z0-9-]+)`)

// login runs `dagster-oidc login`, echoes what it prints and approves its code.
func (d *demo) login(ctx context.Context, user string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.cli, "login")
	cmd.Env = d.env
	fmt.Fprintf(d.out, "    $ dagster-oidc login\n")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	approved := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		d.quote(line)
		if m := demoUserCode.FindStringSubmatch(line); m != nil && !approved {
			approved = true
			if err := d.sb.ApproveDevice(ctx, m[1], user); err != nil {
				_ = cmd.Process.Kill()
				return fmt.Errorf("could not approve the device code as %s: %w", user, err)
			}
			fmt.Fprintf(d.out, "    (demo: approved code %s as %s at %s)\n", m[1], user, d.sb.DeviceURL())
		}
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("dagster-oidc login failed: %w", err)
	}
	if !approved {
		return errors.New("dagster-oidc login printed no device code")
	}
	return nil
}

// findCLI locates the dagster-oidc binary.
func findCLI(flag string) (string, error) {
	if flag != "" {
		if _, err := os.Stat(flag); err != nil {
			return "", fmt.Errorf("--cli %s: %w", flag, err)
		}
		return filepath.Abs(flag)
	}
	if self, err := os.Executable(); err == nil {
		sibling := filepath.Join(filepath.Dir(self), "dagster-oidc")
		if _, err := os.Stat(sibling); err == nil {
			return sibling, nil
		}
	}
	p, err := exec.LookPath("dagster-oidc")
	if err != nil {
		return "", errors.New("dagster-oidc binary not found next to dagster-oidc-sandbox or on PATH; build it (make build) or pass --cli")
	}
	return p, nil
}
