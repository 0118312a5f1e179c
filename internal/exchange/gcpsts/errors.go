package gcpsts

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/redact"
	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// Stages of an exchange, as reported in Error.Stage.
const (
	StageSTS           = "sts"
	StageImpersonation = "impersonation"
)

// maxDescription caps the server's description kept in an Error.
const maxDescription = 300

// Error is a non-2xx answer from STS or IAM Credentials. It never holds a
// token: the server's description is cut to one line, and anything shaped
// like a JWT or equal to a token that was sent is redacted.
type Error struct {
	// Stage is StageSTS or StageImpersonation.
	Stage string
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the OAuth error code from STS ("invalid_grant") or the Google
	// API status from IAM Credentials ("PERMISSION_DENIED").
	Code string
	// Description is the server's error_description or message.
	Description string
	// ServiceAccount is the impersonated account (StageImpersonation only).
	ServiceAccount string
}

// Error returns a one-line description without any token.
func (e *Error) Error() string {
	what := "google sts refused the token exchange"
	if e.Stage == StageImpersonation {
		what = "google iam credentials refused to issue a token for " + e.ServiceAccount
	}
	msg := fmt.Sprintf("%s: %d", what, e.StatusCode)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// Explanation says, in one line, what most likely went wrong and what to
// change; it is used as the error's hint.
func (e *Error) Explanation() string {
	desc := strings.ToLower(e.Description)
	if e.Stage == StageImpersonation {
		return e.explainImpersonation(desc)
	}
	switch {
	case e.Code == "invalid_grant" && strings.Contains(desc, "attribute condition"):
		return "the workload identity provider's attribute condition rejected this identity: compare the condition with the token's claims (dagster-oidc explain shows them)"
	case e.Code == "invalid_grant" && strings.Contains(desc, "audience"):
		return "the ID token's aud claim is not an allowed audience of the workload identity provider: add the OIDC client ID with gcloud iam workload-identity-pools providers update-oidc PROVIDER --allowed-audiences=CLIENT_ID"
	case e.Code == "invalid_grant" && (strings.Contains(desc, "issuer") || strings.Contains(desc, "iss ")):
		return "the ID token's issuer does not match the provider's --issuer-uri: make them equal byte for byte, trailing slash included"
	case e.Code == "invalid_grant" && (strings.Contains(desc, "expired") || strings.Contains(desc, "stale")):
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

func (e *Error) explainImpersonation(desc string) string {
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

// classify wraps e with its kind and hint: 403 and invalid_grant are denials.
func classify(e *Error) error {
	if e.StatusCode == http.StatusForbidden || e.Code == "invalid_grant" {
		return apperr.Denied(e, e.Explanation())
	}
	return apperr.New(apperr.KindError, e, e.Explanation())
}

// googleError decodes both shapes: OAuth {"error":"x","error_description":"y"}
// from STS and {"error":{"code":403,"message":"y","status":"X"}} from IAM.
type googleError struct {
	Error            json.RawMessage `json:"error"`
	ErrorDescription string          `json:"error_description"`
}

type googleAPIError struct {
	Message string `json:"message"`
	Status  string `json:"status"`
}

// newError builds an Error from a response body, redacting secrets.
func newError(stage string, status int, body []byte, secrets ...string) *Error {
	e := &Error{Stage: stage, StatusCode: status}
	var ge googleError
	if json.Unmarshal(body, &ge) == nil && len(ge.Error) > 0 {
		var code string
		var api googleAPIError
		switch {
		case json.Unmarshal(ge.Error, &code) == nil:
			e.Code, e.Description = code, ge.ErrorDescription
		case json.Unmarshal(ge.Error, &api) == nil:
			e.Code, e.Description = api.Status, api.Message
		}
	} else {
		e.Description = string(body)
	}
	e.Code = sanitize(e.Code, secrets)
	e.Description = sanitize(e.Description, secrets)
	return e
}

// sanitize makes s one short line free of the given secrets and of JWTs,
// redacted before it is cut.
func sanitize(s string, secrets []string) string {
	s = redact.Text(s, secrets...)
	s = termsafe.Clean(strings.Join(strings.Fields(s), " "))
	if r := []rune(s); len(r) > maxDescription {
		s = string(r[:maxDescription]) + "…"
	}
	return s
}
