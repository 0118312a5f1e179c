package awssts

import (
	"context"
	"strings"
	"testing"
)

// TestFinding8_STSErrorDoesNotEchoToken is issue 15.8: an STS error
// message that quotes the WebIdentityToken that was sent, whole or placed
// where the 512-byte cut goes through it, never reaches the error text.
func TestFinding8_STSErrorDoesNotEchoToken(t *testing.T) {
	tests := []struct {
		name    string
		message string
	}{
		{"token quoted", "Invalid token " + testToken + " for role"},
		{"token across the cut", strings.Repeat("x", maxMessageLen-20) + " " + testToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>" + tt.message + "</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
			sts := newFakeSTS(t, answer{403, body})
			rec := &recorder{}
			_, err := rec.client(sts.srv.URL).AssumeRoleWithWebIdentity(context.Background(), validRequest(), rec.token)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, part := range append(strings.Split(testToken, "."), "eyJ") {
				if strings.Contains(msg, part[:min(len(part), 12)]) {
					t.Errorf("error echoes the token (%q): %s", part, msg)
				}
			}
			if !strings.Contains(msg, "AccessDenied") || !strings.Contains(msg, "[redacted]") {
				t.Errorf("error %q lost the STS code or the redaction marker", msg)
			}
		})
	}
}
