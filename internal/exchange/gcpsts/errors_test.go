package gcpsts

import (
	"strings"
	"testing"
)

func TestNewErrorRedacts(t *testing.T) {
	const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
	body := `{"error":"invalid_grant","error_description":"bad token ` + jwt + `\nsecret ya29.opaque-secret"}`
	e := newError(StageSTS, 400, []byte(body), "ya29.opaque-secret")
	want := "google sts refused the token exchange: 400 invalid_grant: bad token [redacted] secret [redacted]"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestNewErrorShapes(t *testing.T) {
	tests := []struct {
		name, body       string
		wantCode, wantDe string
	}{
		{"oauth", `{"error":"invalid_target","error_description":"no such provider"}`, "invalid_target", "no such provider"},
		{"google api", `{"error":{"code":403,"message":"Permission denied","status":"PERMISSION_DENIED"}}`, "PERMISSION_DENIED", "Permission denied"},
		{"html", "<html>\n<b>Bad Gateway</b></html>", "", "<html> <b>Bad Gateway</b></html>"},
		{"long", `{"error":"x","error_description":"` + strings.Repeat("y", 400) + `"}`, "x", strings.Repeat("y", maxDescription) + "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newError(StageImpersonation, 502, []byte(tc.body))
			if e.Code != tc.wantCode || e.Description != tc.wantDe {
				t.Errorf("got code %q description %q, want %q %q", e.Code, e.Description, tc.wantCode, tc.wantDe)
			}
		})
	}
}

func TestExplanation(t *testing.T) {
	tests := []struct {
		name string
		e    Error
		want string
	}{
		{"audience claim", Error{Stage: StageSTS, StatusCode: 400, Code: "invalid_grant", Description: "The audience in ID Token [x] does not match the expected audience."},
			"the ID token's aud claim is not an allowed audience"},
		{"attribute condition", Error{Stage: StageSTS, StatusCode: 400, Code: "invalid_grant", Description: "The given credential is rejected by the attribute condition."},
			"the workload identity provider's attribute condition rejected"},
		{"issuer", Error{Stage: StageSTS, StatusCode: 400, Code: "invalid_grant", Description: "The issuer in ID Token does not match"},
			"the ID token's issuer does not match"},
		{"server error", Error{Stage: StageSTS, StatusCode: 503}, "google sts failed on its side"},
		{"api disabled", Error{Stage: StageImpersonation, StatusCode: 403, Code: "PERMISSION_DENIED",
			Description: "IAM Service Account Credentials API has not been used in project 1 before or it is disabled."}, "enable the IAM Service Account Credentials API"},
		{"no such account", Error{Stage: StageImpersonation, StatusCode: 404, ServiceAccount: "x@y"}, "service account x@y does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.Explanation(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("Explanation() = %q, want prefix %q", got, tc.want)
			}
		})
	}
}
