package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
)

// The hints of token failures, chosen here by the token's source: a person
// at a terminal can log in again, a pod or a CI job cannot, and there the
// advice is about what provides the token. The sources in internal/flow
// return typed errors (flow.WorkloadError, flow.VerificationError) without
// advice.

// rotationHint is the hint for an expired workload token: in a pod or a CI
// job nobody logs in, and the cause is that nothing rotated the token.
func rotationHint(source string) string {
	return "nothing rotated the " + source + " token in time: check what provides it (the kubelet's projected token and its expirationSeconds, the CI job's token, whatever writes the file) and this machine's clock; dagster-oidc status shows the source"
}

// workloadSourceHint gives a workload source's failure (a
// flow.WorkloadError) the hint for its source and cause. An interruption,
// or an error that has a hint already, is returned as it is.
func workloadSourceHint(err error) error {
	var we *flow.WorkloadError
	if !errors.As(err, &we) || errors.Is(err, context.Canceled) || apperr.HintOf(err) != "" {
		return err
	}
	if hint := workloadCauseHint(we); hint != "" {
		return apperr.New(apperr.KindOf(err), err, hint)
	}
	return err
}

// workloadCauseHint is what to check when source we.Source failed with
// we.Cause: the platform's set-up that provides the token.
func workloadCauseHint(we *flow.WorkloadError) string {
	if we.Cause == flow.CauseExpired {
		return rotationHint(we.Source)
	}
	switch we.Source {
	case flow.SourceWebIdentityFile:
		return "check that the pod's service account carries the eks.amazonaws.com/role-arn annotation (IRSA)"
	case flow.SourceAzureFile:
		return "label the pod azure.workload.identity/use: \"true\" so the webhook mounts the token"
	case flow.SourceKubernetes:
		return "mount a projected service-account token volume there, or set the token path in the profile"
	case flow.SourceFile:
		return "check the token path in the profile"
	case flow.SourceGitLab:
		return fmt.Sprintf("declare it in .gitlab-ci.yml: id_tokens: { %s: { aud: <audience> } }", we.Variable)
	case flow.SourceGitHubActions:
		if we.Cause == flow.CauseUnset {
			return "give the job `permissions: id-token: write` in the workflow"
		}
	case flow.SourceGCPMetadata:
		switch we.Cause {
		case flow.CauseUnreachable:
			return "run on GCE or GKE, or set flow: to another source"
		case flow.CauseNoIdentity:
			return "attach a service account to the instance, or enable Workload Identity for the GKE node pool"
		}
	}
	return ""
}

// workloadHint gives a refused workload token a hint that fits a pod or a
// CI job, where nobody logs in: an expired platform token means that
// nothing rotated it.
func workloadHint(source string, err error) error {
	var ve *flow.VerificationError
	if !errors.As(err, &ve) {
		return err
	}
	if ve.Reason == flow.ReasonExpired {
		return apperr.Denied(err, rotationHint(source))
	}
	return apperr.Denied(err, "check the profile's issuer and workload.audience against the "+source+" token's iss and aud (dagster-oidc explain shows its claims)")
}

// humanHint gives a refused login or refresh the hint that fits a person
// at a terminal, unless the refusal has one of its own.
func humanHint(err error) error {
	var ve *flow.VerificationError
	if errors.As(err, &ve) && apperr.HintOf(err) == "" {
		return apperr.Denied(err, "check the profile's issuer, client_id/audience and the machine's clock, then run: dagster-oidc login")
	}
	return err
}
