package credentials

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/awssts"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/gcpsts"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
)

func TestWithExchangeHint(t *testing.T) {
	aws := func(code string, status int) error {
		return apperr.Denied(fmt.Errorf("could not assume role r: %w", &awssts.Error{Code: code, StatusCode: status}), "")
	}
	gcp := func(stage, code, desc string, status int) error {
		return apperr.Denied(&gcpsts.Error{Stage: stage, Code: code, Description: desc, StatusCode: status, ServiceAccount: "x@p.iam.gserviceaccount.com"}, "")
	}
	// The gcp descriptions are those of internal/sandbox/gcpfake, after Google's.
	tests := []struct {
		name, source string
		err          error
		want         string // the hint's start
	}{
		{"aws access denied", "device", aws(awssts.CodeAccessDenied, 403), "the role's trust policy does not accept this token"},
		{"aws expired, a login", "device", aws(awssts.CodeExpiredToken, 400), "the ID token expired before STS checked it: log in again (dagster-oidc login)"},
		{"aws expired, a pod", flow.SourceKubernetes, aws(awssts.CodeExpiredToken, 400), "the kubernetes token expired before STS checked it: check what rotates it"},
		{"aws claim rejected, a login", "browser", aws(awssts.CodeIDPRejectedClaim, 403), "the identity provider or STS rejected a claim of the token (it may be expired or revoked): log in again"},
		{"aws claim rejected, a CI job", flow.SourceGitHubActions, aws(awssts.CodeIDPRejectedClaim, 403), "STS rejected a claim of the github-actions token: compare its claims"},
		{"aws invalid token", "device", aws(awssts.CodeInvalidIdentityToken, 400), "STS could not validate the ID token"},
		{"aws idp unreachable", "device", aws(awssts.CodeIDPCommunicationError, 400), "STS could not reach the identity provider's discovery or JWKS endpoint"},
		{"aws region disabled", "device", aws(awssts.CodeRegionDisabled, 403), "STS is not activated in this region"},
		{"aws policy too large", "device", aws(awssts.CodePackedPolicyTooLarge, 400), "the session policy or the token's session tags"},
		{"aws validation", "device", aws(awssts.CodeValidationError, 400), "STS refused a request parameter"},
		{"aws throttled", "device", aws(awssts.CodeThrottling, 400), "STS is throttling requests"},
		{"aws 503", "device", aws("", 503), "STS had an internal error: retry later"},
		{"aws unknown 400", "device", aws("Weird", 400), ""},
		{"aws deadline", "device", fmt.Errorf("could not assume role r: %w", &awssts.DeadlineError{Deadline: time.Second, Attempts: 2, Last: context.DeadlineExceeded}),
			"check that STS is reachable from here (aws.sts_endpoint or aws.region, HTTPS_PROXY); aws.sts_timeout"},
		{"aws request out of limits", "device", apperr.Usage(fmt.Errorf("could not assume role: %w", &awssts.RequestError{Err: errors.New("duration outside STS's limits")}), ""),
			"fix the aws settings of the profile"},
		{"aws without a region", "device", apperr.Usage(fmt.Errorf("could not assume role r: %w", &awssts.EndpointError{Err: errors.New("no AWS region is set for STS")}), ""),
			"set aws.region in the profile"},
		{"gcp unknown provider", "device", gcp(gcpsts.StageSTS, "invalid_target", `The target service indicated by the "audience" parameters is invalid.`, 400), "no enabled workload identity provider has this audience"},
		{"gcp malformed audience", "device", gcp(gcpsts.StageSTS, "invalid_request", `Invalid value for "audience". This value should be the full resource name of the Identity Provider.`, 400),
			"gcp.audience must be the provider's full resource name"},
		{"gcp expired, a login", "device", gcp(gcpsts.StageSTS, "invalid_grant", "The ID Token could not be verified: token is expired", 400), "the ID token has expired: get a fresh one (dagster-oidc login)"},
		{"gcp expired, a pod", flow.SourceKubernetes, gcp(gcpsts.StageSTS, "invalid_grant", "The ID Token could not be verified: token is expired", 400),
			"the kubernetes token expired before google sts checked it: check what rotates it"},
		{"gcp audience", "device", gcp(gcpsts.StageSTS, "invalid_grant", "The audience in ID Token [x] does not match the expected audience.", 400), "the ID token's aud claim is not an allowed audience"},
		{"gcp attribute condition", "device", gcp(gcpsts.StageSTS, "invalid_grant", "The given credential is rejected by the attribute condition.", 400), "the workload identity provider's attribute condition rejected"},
		{"gcp issuer", "device", gcp(gcpsts.StageSTS, "invalid_grant", "The issuer in ID Token does not match", 400), "the ID token's issuer does not match"},
		{"gcp bad signature", "device", gcp(gcpsts.StageSTS, "invalid_grant", "The ID Token could not be verified: bad signature", 400), "google sts rejected the ID token"},
		{"gcp 503", "device", gcp(gcpsts.StageSTS, "", "", 503), "google sts failed on its side"},
		{"gcp not bound", "device", gcp(gcpsts.StageImpersonation, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied", 403),
			"the federated identity lacks iam.serviceAccounts.getAccessToken on x@p.iam.gserviceaccount.com: grant roles/iam.workloadIdentityUser"},
		{"gcp api disabled", "device", gcp(gcpsts.StageImpersonation, "PERMISSION_DENIED", "IAM Service Account Credentials API has not been used in project 1 before or it is disabled.", 403),
			"enable the IAM Service Account Credentials API"},
		{"gcp no such account", "device", gcp(gcpsts.StageImpersonation, "NOT_FOUND", "", 404), "service account x@p.iam.gserviceaccount.com does not exist"},
		{"gcp lifetime", "device", gcp(gcpsts.StageImpersonation, "INVALID_ARGUMENT", "Requested lifetime is too long", 400), "the requested token lifetime is too long"},
		{"a token failure keeps its hint", flow.SourceKubernetes, apperr.Denied(errors.New("refused"), "its own"), "its own"},
		{"not an STS error", "device", errors.New("boom"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withExchangeHint(tt.err, tt.source)
			hint := apperr.HintOf(got)
			if !strings.HasPrefix(hint, tt.want) || (tt.want == "") != (hint == "") || strings.Contains(hint, "\n") {
				t.Errorf("hint %q, want it to start with %q", hint, tt.want)
			}
			if apperr.ExitCode(got) != apperr.ExitCode(tt.err) || got.Error() != tt.err.Error() {
				t.Errorf("exit %d, message %q; want the error's %d, %q", apperr.ExitCode(got), got, apperr.ExitCode(tt.err), tt.err)
			}
			if flow.IsWorkload(tt.source) && strings.Contains(hint, "login") {
				t.Errorf("a %s token's hint asks for a login: %q", tt.source, hint)
			}
		})
	}
	if withExchangeHint(nil, "device") != nil {
		t.Error("withExchangeHint(nil) is not nil")
	}
}
