package flow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/flow"
)

// hostileIdP serves a device authorization answer whose strings carry
// terminal escapes, and a token endpoint that refuses with one more.
func hostileIdP(t *testing.T, verificationURI func(base string) string) string {
	t.Helper()
	var base string
	mux := http.NewServeMux()
	mux.HandleFunc("/device", func(w http.ResponseWriter, r *http.Request) {
		v := verificationURI(base)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"device_code": "dc", "user_code": "ABCD\x1b]0;pwned\x07-EFGH", "expires_in": 600, "interval": 1,
			"verification_uri": v + "\x1b[2J", "verification_uri_complete": v + "?code=ABCD\u009b2J",
		})
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_grant\u001b[31m","error_description":"\u001b[2J\u001b[HYour session expired.\r\nEnter your password at https://evil.example:"}`)
	})
	base = newServer(t, mux)
	return base
}

func deviceFlowAgainst(base, issuer string, prompt *bytes.Buffer) *flow.DeviceFlow {
	return &flow.DeviceFlow{
		ClientID: "c", DeviceAuthURL: base + "/device", TokenURL: base + "/token", Issuer: issuer,
		HTTP: &http.Client{}, Prompt: prompt, QR: true,
		Sleep: func(context.Context, time.Duration) error { return nil },
	}
}

// noControls fails when s holds a C0 control other than a newline, DEL, or
// a C1 control (as a rune or a lone byte).
func noControls(t *testing.T, what, s string) {
	t.Helper()
	for i, r := range s {
		if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			t.Errorf("%s holds control %U at byte %d: %q", what, r, i, s)
			return
		}
	}
	if strings.ContainsRune(s, 0x9b) || bytes.IndexByte([]byte(s), 0x9b) >= 0 {
		t.Errorf("%s holds a CSI byte: %q", what, s)
	}
}

// TestFinding4_TerminalEscapesStripped is issue 15.4: the user code, the
// verification URIs (also QR-encoded) and the token endpoint's error
// description reach the terminal without C0/C1 controls.
func TestFinding4_TerminalEscapesStripped(t *testing.T) {
	var prompt bytes.Buffer
	base := hostileIdP(t, func(base string) string { return base + "/verify" })
	_, err := deviceFlowAgainst(base, base, &prompt).Token(t.Context())
	if err == nil {
		t.Fatal("no error from a refusing token endpoint")
	}
	noControls(t, "prompt", prompt.String())
	noControls(t, "error", err.Error())
	for _, want := range []string{"ABCD]0;pwned-EFGH", base + "/verify[2J", "Your session expired."} {
		if !strings.Contains(prompt.String()+err.Error(), want) {
			t.Errorf("output lacks %q (the visible text must stay):\n%s\n%v", want, prompt.String(), err)
		}
	}
	if strings.Contains(prompt.String(), "WARNING") {
		t.Errorf("a login page on the issuer's host was warned about:\n%s", prompt.String())
	}
}

// TestFinding4_VerificationURIRules: a verification_uri must be https (http
// on loopback only), and one on another host than the issuer's is shown
// with a warning.
func TestFinding4_VerificationURIRules(t *testing.T) {
	t.Run("plaintext on another host is refused", func(t *testing.T) {
		var prompt bytes.Buffer
		base := hostileIdP(t, func(string) string { return "http://login.example.org/device" })
		_, err := deviceFlowAgainst(base, base, &prompt).Token(t.Context())
		if err == nil || !strings.Contains(err.Error(), "verification_uri is not a page to log in on") {
			t.Fatalf("err = %v, want the plaintext verification_uri refused", err)
		}
		if strings.Contains(prompt.String(), "login.example.org") {
			t.Errorf("the refused page was shown: %s", prompt.String())
		}
	})
	t.Run("https on another host is warned about", func(t *testing.T) {
		var prompt bytes.Buffer
		base := hostileIdP(t, func(string) string { return "https://login.example.org/device" })
		_, _ = deviceFlowAgainst(base, "https://id.example.com", &prompt).Token(t.Context())
		want := "WARNING: the login page is on login.example.org, not on the issuer's host id.example.com"
		if !strings.Contains(prompt.String(), want) {
			t.Errorf("prompt lacks %q:\n%s", want, prompt.String())
		}
	})
}

// TestFinding4_CallbackErrorWithoutTerminalControls is issue 15.4 for the
// browser flow: the error and error_description of a login callback reach
// the terminal without controls.
func TestFinding4_CallbackErrorWithoutTerminalControls(t *testing.T) {
	e := newBrowserEnv(t)
	b := e.flow()
	b.Prompt = &bytes.Buffer{}
	b.Open = func(raw string) error {
		u, err := url.Parse(raw)
		if err != nil {
			return err
		}
		q := u.Query()
		cb := q.Get("redirect_uri") + "?" + url.Values{"state": {q.Get("state")}, "error": {"access_denied\x1b[31m"},
			"error_description": {"\x1b[2J\x1b[HYour session expired.\r\nEnter your password at https://evil.example:\u009b"}}.Encode()
		_, _, err = load(t.Context(), cb)
		return err
	}
	_, err := b.Token(t.Context())
	if err == nil {
		t.Fatal("no error from a refused login")
	}
	noControls(t, "error", err.Error())
	if !strings.Contains(err.Error(), "access_denied[31m") || !strings.Contains(err.Error(), "Your session expired.Enter your password") {
		t.Errorf("error %q lost the visible text", err)
	}
}
