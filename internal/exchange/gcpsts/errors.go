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

// classify wraps e with its kind: 403 and invalid_grant are denials. It
// carries no advice: the caller chooses the hint from e.
func classify(e *Error) error {
	if e.StatusCode == http.StatusForbidden || e.Code == "invalid_grant" {
		return apperr.Denied(e, "")
	}
	return e
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
