package credentials

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
)

func TestExec(t *testing.T) {
	notRunnable := filepath.Join(t.TempDir(), "not-runnable")
	if err := os.WriteFile(notRunnable, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		// openErr fails the profile's opening; noGroups leaves the
		// token without the group the role's rule asks for.
		openErr  error
		noGroups bool
		wantErr  string
		wantCode int // exec's exit code: ExitError's, else apperr's
		// wantState is the status file's state; wantOpened whether the
		// profile was opened at all.
		wantState  string
		wantOpened bool
		wantStderr string
	}{
		{name: "exits 0 with the credential endpoint", args: []string{"sh", "-c", `test -n "$AWS_CONTAINER_CREDENTIALS_FULL_URI" && test "$AWS_REGION" = us-east-1`},
			wantState: ExecStateExited, wantOpened: true},
		{name: "the child's exit code", args: []string{"sh", "-c", "exit 3"}, wantErr: "command exited with code 3", wantCode: 3,
			wantState: ExecStateExited, wantOpened: true},
		{name: "command not found", args: []string{"/nonexistent/dagster"}, wantErr: "command exited with code 127", wantCode: 127,
			wantState: ExecStateRefused, wantStderr: "dagster-oidc exec: /nonexistent/dagster: "},
		{name: "command not runnable", args: []string{notRunnable}, wantErr: "command exited with code 126", wantCode: 126,
			wantState: ExecStateRefused, wantStderr: "dagster-oidc exec: " + notRunnable + ": "},
		{name: "profile refused", args: []string{"true"}, openErr: apperr.Usage(errors.New("no such profile"), "pick one"), wantErr: "no such profile", wantCode: 2,
			wantState: ExecStateRefused, wantOpened: true},
		{name: "no rule allows the identity", args: []string{"true"}, noGroups: true, wantErr: "no rule", wantCode: 4,
			wantState: ExecStateRefused, wantOpened: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.noGroups {
				h.tokens.groups = nil
			}
			status := filepath.Join(t.TempDir(), "status.json")
			var stderr bytes.Buffer
			opened := false
			err := Exec(context.Background(), ExecRequest{
				Child: ChildRequest{AWS: true, AWSMode: "server"}, Args: tt.args,
				Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &stderr,
				GracePeriod: time.Second, StatusFile: status, Executable: func() (string, error) { return "/opt/dagster-oidc", nil },
			}, func() (*Service, error) {
				opened = true
				return h.s, tt.openErr
			})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Exec = %v, want %q", err, tt.wantErr)
			}
			code := apperr.ExitCode(err)
			if ee := (*ExitError)(nil); errors.As(err, &ee) {
				code = ee.Code
			}
			if err != nil && code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			if opened != tt.wantOpened {
				t.Errorf("profile opened = %v, want %v", opened, tt.wantOpened)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.wantStderr)
			}
			var st ExecStatus
			data, rerr := os.ReadFile(status)
			if rerr != nil || json.Unmarshal(data, &st) != nil {
				t.Fatalf("status file: %v\n%s", rerr, data)
			}
			if st.State != tt.wantState || st.ExitCode != tt.wantCode {
				t.Errorf("status = %s exit %d, want %s exit %d", st.State, st.ExitCode, tt.wantState, tt.wantCode)
			}
			if tt.wantState == ExecStateExited && (st.Identity == nil || st.Identity.AWSRole != dataEngRole || st.PID == 0) {
				t.Errorf("status identity %+v pid %d, want role %s and the pid", st.Identity, st.PID, dataEngRole)
			}
		})
	}
}

func TestGCPCommand(t *testing.T) {
	abs, err := filepath.Abs("rel/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		w    *wiring
		want string
	}{
		{name: "built from ports", want: "/opt/d gcp executable --profile dev"},
		{name: "a relative profiles file", w: &wiring{cfg: &config.File{Path: "rel/config.yaml"}}, want: "/opt/d gcp executable --profile dev --config " + abs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.s.w = tt.w
			if got := strings.Join(h.s.GCPCommand("/opt/d"), " "); got != tt.want {
				t.Errorf("GCPCommand = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExecutableRequestFrom(t *testing.T) {
	tests := []struct {
		name            string
		env             map[string]string
		want            ExecutableRequest
		wantInteractive bool
	}{
		{name: "nothing set"},
		{name: "every variable", env: map[string]string{
			GCPEnvAudience: "//iam/aud", GCPEnvTokenType: "urn:jwt", GCPEnvOutputFile: "/tmp/out.json",
			GCPEnvImpersonated: "sa@p", GCPEnvInteractive: "1", "DAGSTER_RUN_ID": "r1", "DAGSTER_RUN_JOB_NAME": "etl",
		}, want: ExecutableRequest{Audience: "//iam/aud", TokenType: "urn:jwt", OutputFile: "/tmp/out.json", ImpersonatedEmail: "sa@p",
			Run: policy.Run{ID: "r1", Job: "etl"}}, wantInteractive: true},
		{name: "interactive is only 1", env: map[string]string{GCPEnvInteractive: "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, interactive := ExecutableRequestFrom(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if diff := cmp.Diff(tt.want, got); diff != "" || interactive != tt.wantInteractive {
				t.Errorf("ExecutableRequestFrom: interactive %v, want %v (-want +got):\n%s", interactive, tt.wantInteractive, diff)
			}
		})
	}
}
