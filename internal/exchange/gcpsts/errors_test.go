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
