package redact

import "testing"

func TestText(t *testing.T) {
	const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl"
	tests := []struct {
		name, in string
		secrets  []string
		want     string
	}{
		{"plain message", "Not authorized to perform sts:AssumeRoleWithWebIdentity", nil, "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{"whole JWT", "token " + jwt + " is invalid", nil, "token [redacted] is invalid"},
		{"cut JWT", "token " + jwt[:30], nil, "token [redacted]"},
		{"JWT header only", "header eyJhbGciOiJSUzI1NiJ9 seen", nil, "header [redacted] seen"},
		{"sent opaque token", "bad token opaque-secret-value-123", []string{"opaque-secret-value-123"}, "bad token [redacted]"},
		{"short secret ignored", "the word abc stays", []string{"abc"}, "the word abc stays"},
		{"dotted host names stay", "could not reach sts.us-east-1.amazonaws.com", nil, "could not reach sts.us-east-1.amazonaws.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Text(tt.in, tt.secrets...); got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
