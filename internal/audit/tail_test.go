package audit

import (
	"bytes"
	"strings"
	"testing"
)

// TestFinding4_AuditTailWithoutTerminalControls is issue 15.4 for `audit
// tail`: a reason quoting an IdP's error text (the proxy's idp_error) and
// any other field reach the terminal escaped, not as controls.
func TestFinding4_AuditTailWithoutTerminalControls(t *testing.T) {
	line := `{"v":2,"time":"2026-03-14T15:09:26.535Z\u001b[2J","event":"proxy_sign_in","outcome":"denied","profile":"dev",` +
		`"error_class":"idp_error","reason":"access_denied\u001b]0;pwned\u0007\u009b2J\u202e"}` + "\n"
	var out bytes.Buffer
	if err := Tail(&out, strings.NewReader(line), 0, ""); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for i, r := range got {
		if (r < 0x20 && r != '\n') || (r >= 0x7f && r <= 0x9f) || r == 0x202e {
			t.Fatalf("audit tail printed control %U at %d: %q", r, i, got)
		}
	}
	want := `2026-03-14T15:09:26.535Z[2J proxy_sign_in denied profile=dev error=idp_error reason="access_denied\x1b]0;pwned\a\u009b2J\u202e"`
	if strings.TrimSpace(got) != want {
		t.Errorf("audit tail printed\n%s\nwant\n%s", got, want)
	}
}
