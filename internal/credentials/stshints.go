package credentials

import (
	"errors"
	"net/http"
	"strings"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/awssts"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/gcpsts"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
)

// The hints of failed cloud exchanges. The STS clients return typed errors
// (awssts.Error, DeadlineError, RequestError, EndpointError; gcpsts.Error)
// without advice; the
// hint is chosen here, once, by the error and the source of the token that
// was exchanged: a person at a terminal can log in again, a pod or a CI job
// cannot, and there the advice is about what rotates its token.

// rotatesHint is the advice for an expired workload token that STS (what)
// refused.
func rotatesHint(source, what string) string {
	return "the " + source + " token expired before " + what + " checked it: check what rotates it (the kubelet's projected token, the CI job's token, whatever writes the file) and this machine's clock"
}

// withExchangeHint gives err, a failed exchange of a token from source, the
// hint for it, unless it has one (a token failure keeps its own). Its kind,
// and so its exit code, stays.
func withExchangeHint(err error, source string) error {
	if err == nil || apperr.HintOf(err) != "" {
		return err
	}
	if hint := exchangeHint(err, source); hint != "" {
		return apperr.New(apperr.KindOf(err), err, hint)
	}
	return err
}

// exchangeHint is the hint for the STS error in err's chain ("" for none).
func exchangeHint(err error, source string) string {
	var ae *awssts.Error
	var de *awssts.DeadlineError
	var re *awssts.RequestError
	var ee *awssts.EndpointError
	var ge *gcpsts.Error
	switch {
	case errors.As(err, &re):
		return "fix the aws settings of the profile"
	case errors.As(err, &ee):
		return "set aws.region in the profile"
	case errors.As(err, &ae):
		return awsSTSHint(ae, source)
	case errors.As(err, &de):
		return "check that STS is reachable from here (aws.sts_endpoint or aws.region, HTTPS_PROXY); aws.sts_timeout in the profile sets this deadline"
	case errors.As(err, &ge) && ge.Stage == gcpsts.StageImpersonation:
		return gcpImpersonationHint(ge)
	case errors.As(err, &ge):
		return gcpSTSHint(ge, source)
	}
	return ""
}

// awsSTSHint says what an STS error usually means and what to check; "" for
// codes without a known explanation.
func awsSTSHint(e *awssts.Error, source string) string {
	workload := flow.IsWorkload(source)
	switch e.Code {
	case awssts.CodeAccessDenied:
		return "the role's trust policy does not accept this token: check its Federated principal (the OIDC provider), the aud and sub conditions, and sts:TagSession if the token carries session tags"
	case awssts.CodeExpiredToken:
		if workload {
			return rotatesHint(source, "STS")
		}
		return "the ID token expired before STS checked it: log in again (dagster-oidc login) or check this machine's clock"
	case awssts.CodeInvalidIdentityToken:
		return "STS could not validate the ID token: check that the IAM OIDC provider's URL matches the token's issuer exactly, that its client IDs include the token's audience, and its thumbprint"
	case awssts.CodeIDPRejectedClaim:
		if workload {
			return "STS rejected a claim of the " + source + " token: compare its claims (dagster-oidc explain) with the role's trust policy"
		}
		return "the identity provider or STS rejected a claim of the token (it may be expired or revoked): log in again"
	case awssts.CodeIDPCommunicationError:
		return "STS could not reach the identity provider's discovery or JWKS endpoint: check that the issuer is reachable from the internet, then retry"
	case awssts.CodeRegionDisabled:
		return "STS is not activated in this region for the account: activate it in IAM account settings or use another region"
	case awssts.CodeMalformedPolicy, awssts.CodePackedPolicyTooLarge:
		return "the session policy or the token's session tags are invalid or too large: shorten the policy or the tags"
	case awssts.CodeValidationError:
		return "STS refused a request parameter, often a duration above the role's maximum session duration: lower the duration or raise the role's maximum"
	case awssts.CodeThrottling, awssts.CodeThrottlingException, awssts.CodeRequestLimitExceeded:
		return "STS is throttling requests: wait and retry, or reuse cached credentials for longer"
	}
	if e.StatusCode >= 500 {
		return "STS had an internal error: retry later"
	}
	return ""
}

// gcpSTSHint says, in one line, what most likely went wrong in Google STS's
// exchange of a token from source and what to change.
func gcpSTSHint(e *gcpsts.Error, source string) string {
	desc := strings.ToLower(e.Description)
	switch {
	case e.Code == "invalid_grant" && strings.Contains(desc, "attribute condition"):
		return "the workload identity provider's attribute condition rejected this identity: compare the condition with the token's claims (dagster-oidc explain shows them)"
	case e.Code == "invalid_grant" && strings.Contains(desc, "audience"):
		return "the ID token's aud claim is not an allowed audience of the workload identity provider: add the OIDC client ID with gcloud iam workload-identity-pools providers update-oidc PROVIDER --allowed-audiences=CLIENT_ID"
	case e.Code == "invalid_grant" && (strings.Contains(desc, "issuer") || strings.Contains(desc, "iss ")):
		return "the ID token's issuer does not match the provider's --issuer-uri: make them equal byte for byte, trailing slash included"
	case e.Code == "invalid_grant" && (strings.Contains(desc, "expired") || strings.Contains(desc, "stale")):
		if flow.IsWorkload(source) {
			return rotatesHint(source, "google sts")
		}
		return "the ID token has expired: get a fresh one (dagster-oidc login) and try again"
	case e.Code == "invalid_grant":
		return "google sts rejected the ID token: check the provider's issuer URI, allowed audiences, attribute mapping and attribute condition (docs/gcp.md)"
	case e.Code == "invalid_target":
		return "no enabled workload identity provider has this audience: check gcp.audience and that the pool and provider exist and are enabled (gcloud iam workload-identity-pools providers describe)"
	case e.Code == "invalid_request" && strings.Contains(desc, "audience"):
		return "gcp.audience must be the provider's full resource name: //iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER (project number, not project ID)"
	case e.Code == "invalid_request":
		return "google sts refused the request as malformed: check gcp.audience and the subject token type"
	case e.Code == "invalid_scope":
		return "google sts refused a requested scope: check the scopes asked for"
	case e.StatusCode == http.StatusForbidden:
		return "google sts denied the exchange: check the workload identity pool and provider configuration (docs/gcp.md)"
	case e.StatusCode >= 500:
		return "google sts failed on its side: try again later"
	}
	return "google sts refused the token exchange: see docs/gcp.md"
}

// gcpImpersonationHint says what to change when IAM Credentials refused to
// issue a token for the service account.
func gcpImpersonationHint(e *gcpsts.Error) string {
	desc := strings.ToLower(e.Description)
	switch {
	case strings.Contains(desc, "has not been used") || strings.Contains(desc, "is disabled") || e.Code == "SERVICE_DISABLED":
		return "enable the IAM Service Account Credentials API in the service account's project: gcloud services enable iamcredentials.googleapis.com"
	case e.StatusCode == http.StatusForbidden:
		return "the federated identity lacks iam.serviceAccounts.getAccessToken on " + e.ServiceAccount +
			": grant roles/iam.workloadIdentityUser to its principal or principalSet (gcloud iam service-accounts add-iam-policy-binding " +
			e.ServiceAccount + " --role=roles/iam.workloadIdentityUser --member=principalSet://iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL/attribute.ATTRIBUTE/VALUE)"
	case e.StatusCode == http.StatusNotFound:
		return "service account " + e.ServiceAccount + " does not exist: check gcp.service_account"
	case e.StatusCode == http.StatusUnauthorized:
		return "iam credentials did not accept the federated token: check gcp.token_url and the impersonation URL point at the same Google universe"
	case e.StatusCode == http.StatusBadRequest && strings.Contains(desc, "lifetime"):
		return "the requested token lifetime is too long: use at most 1h, or allow up to 12h with the org policy constraints/iam.allowServiceAccountCredentialLifetimeExtension"
	case e.StatusCode >= 500:
		return "google iam credentials failed on its side: try again later"
	}
	return "google iam credentials refused to issue a token: see docs/gcp.md"
}
