package session

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
)

func TestWorkloadSourceHint(t *testing.T) {
	werr := func(source string, c flow.WorkloadCause, variable string) *flow.WorkloadError {
		return &flow.WorkloadError{Source: source, Where: "somewhere", Cause: c, Variable: variable, Err: errors.New("cause")}
	}
	failed := func(w *flow.WorkloadError) error { return apperr.New(apperr.KindError, w, "") }
	denied := func(w *flow.WorkloadError) error { return apperr.Denied(w, "") }
	tests := []struct {
		name     string
		err      error
		wantHint string
		wantCode int
	}{
		{"expired kubernetes token", denied(werr(flow.SourceKubernetes, flow.CauseExpired, "")), rotationHint(flow.SourceKubernetes), 4},
		{"kubernetes file missing", failed(werr(flow.SourceKubernetes, flow.CauseUnreadable, "")), "mount a projected service-account token volume there, or set the token path in the profile", 1},
		{"irsa variable unset", failed(werr(flow.SourceWebIdentityFile, flow.CauseUnset, "AWS_WEB_IDENTITY_TOKEN_FILE")), "check that the pod's service account carries the eks.amazonaws.com/role-arn annotation (IRSA)", 1},
		{"azure token rejected", denied(werr(flow.SourceAzureFile, flow.CauseRejected, "")), `label the pod azure.workload.identity/use: "true" so the webhook mounts the token`, 4},
		{"file unreadable", failed(werr(flow.SourceFile, flow.CauseUnreadable, "")), "check the token path in the profile", 1},
		{"gitlab variable unset", failed(werr(flow.SourceGitLab, flow.CauseUnset, "MY_TOKEN")), "declare it in .gitlab-ci.yml: id_tokens: { MY_TOKEN: { aud: <audience> } }", 1},
		{"github without permission", failed(werr(flow.SourceGitHubActions, flow.CauseUnset, "ACTIONS_ID_TOKEN_REQUEST_URL")), "give the job `permissions: id-token: write` in the workflow", 1},
		{"github endpoint failed", failed(werr(flow.SourceGitHubActions, flow.CauseFailed, "")), "", 1},
		{"gcp metadata unreachable", failed(werr(flow.SourceGCPMetadata, flow.CauseUnreachable, "")), "run on GCE or GKE, or set flow: to another source", 1},
		{"gcp metadata without a service account", failed(werr(flow.SourceGCPMetadata, flow.CauseNoIdentity, "")), "attach a service account to the instance, or enable Workload Identity for the GKE node pool", 1},
		{"gcp metadata error", failed(werr(flow.SourceGCPMetadata, flow.CauseFailed, "")), "", 1},
		{"a hint of its own", apperr.Denied(werr(flow.SourceKubernetes, flow.CauseRejected, ""), "its own"), "its own", 4},
		{"interrupted", &flow.WorkloadError{Source: flow.SourceKubernetes, Cause: flow.CauseFailed, Err: context.Canceled}, "", 130},
		{"not a workload error", apperr.Denied(errors.New("no"), ""), "", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := workloadSourceHint(fmt.Errorf("wrapped: %w", tt.err))
			if hint := apperr.HintOf(got); hint != tt.wantHint || apperr.ExitCode(got) != tt.wantCode {
				t.Errorf("hint %q, exit %d; want %q, exit %d", hint, apperr.ExitCode(got), tt.wantHint, tt.wantCode)
			}
			if got.Error() != "wrapped: "+tt.err.Error() {
				t.Errorf("message %q changed", got.Error())
			}
		})
	}
}
