package awssts

import (
	"strings"
	"testing"
	"time"
)

func TestSanitizeSessionName(t *testing.T) {
	long := strings.Repeat("a", 70)
	tests := []struct {
		name, in, want string
	}{
		{"valid stays", "alice@example.com", "alice@example.com"},
		{"all allowed punctuation", "a_b+c=d,e.f@g-h", "a_b+c=d,e.f@g-h"},
		{"uuid run id", "0f3e6c1a-5d7b-4c2e-9a8f-1b2c3d4e5f60", "0f3e6c1a-5d7b-4c2e-9a8f-1b2c3d4e5f60"},
		{"spaces collapse", "Alice   Smith", "Alice-Smith"},
		{"slashes and colons", "system:serviceaccount:ns/sa", "system-serviceaccount-ns-sa"},
		{"unicode letters", "José Ñúñez", "Jos-ez"},
		{"emoji only", "🚀🚀", FallbackSessionName},
		{"empty", "", FallbackSessionName},
		{"only separators", " / : ", FallbackSessionName},
		{"one character", "a", FallbackSessionName + "-a"},
		{"trimmed to one character", " x ", FallbackSessionName + "-x"},
		{"exactly 64", strings.Repeat("b", 64), strings.Repeat("b", 64)},
		{"long gets hash suffix", long, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SanitizeSessionName(tt.in)
			if tt.want == "" {
				// The suffix is the input's SHA-256 prefix; check the shape and
				// that it is deterministic rather than hard-coding the digest.
				if len(got) != 64 || !strings.HasPrefix(got, strings.Repeat("a", 55)+"-") || got != SanitizeSessionName(tt.in) {
					t.Errorf("SanitizeSessionName(long) = %q", got)
				}
			} else if got != tt.want {
				t.Errorf("SanitizeSessionName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if err := validSessionName(got); err != nil {
				t.Errorf("result is not valid: %v", err)
			}
		})
	}
}

func TestSanitizeSessionNameLongInputsStayDistinct(t *testing.T) {
	prefix := strings.Repeat("p", 60)
	a, b := SanitizeSessionName(prefix+"-alice"), SanitizeSessionName(prefix+"-bob")
	if a == b {
		t.Errorf("two long names sharing a prefix collided: %q", a)
	}
}

func TestSessionName(t *testing.T) {
	all := map[string]string{VarRunID: "0f3e6c1a-5d7b-4c2e-9a8f-1b2c3d4e5f60", VarEmail: "alice@example.com", VarSubject: "user|123", VarJob: "etl daily"}
	tests := []struct {
		name     string
		template string
		vars     map[string]string
		want     string
	}{
		{"default prefers run id", "", all, "0f3e6c1a-5d7b-4c2e-9a8f-1b2c3d4e5f60"},
		{"default falls back to email", "", map[string]string{VarEmail: "alice@example.com", VarSubject: "s"}, "alice@example.com"},
		{"default falls back to sub, sanitised", "", map[string]string{VarSubject: "user|123"}, "user-123"},
		{"default with nothing", "  ", nil, FallbackSessionName},
		{"template", "dagster-{{job}}-{{ run_id }}", all, "dagster-etl-daily-0f3e6c1a-5d7b-4c2e-9a8f-1b2c3d4e5f60"},
		{"unknown variable is empty", "x-{{nope}}-y", all, "x--y"},
		{"empty variable only", "{{run_id}}", map[string]string{}, FallbackSessionName},
		{"unterminated braces kept as text", "run-{{run_id", all, "run--run_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SessionName(tt.template, tt.vars); got != tt.want {
				t.Errorf("SessionName(%q) = %q, want %q", tt.template, got, tt.want)
			}
		})
	}
}

func TestValidateDuration(t *testing.T) {
	tests := []struct {
		name              string
		requested, margin time.Duration
		wantErr           string
	}{
		{"default duration, default margin", 0, DefaultRefreshMargin, ""},
		{"one hour, 15 min", time.Hour, 15 * time.Minute, ""},
		{"maximum", 12 * time.Hour, 30 * time.Minute, ""},
		{"20 minutes with the mandatory margin leaves 10 min", 20 * time.Minute, 10 * time.Minute, ""},
		{"margin equal to the duration", 15 * time.Minute, 15 * time.Minute, "leaves 0s of use"},
		{"below minimum", 10 * time.Minute, 10 * time.Minute, "outside STS's limits of 15m0s to 12h0m0s"},
		{"above maximum", 13 * time.Hour, 15 * time.Minute, "outside STS's limits"},
		{"fractional seconds", time.Hour + 500*time.Millisecond, 15 * time.Minute, "whole number of seconds"},
		{"short margin for exec's endpoint", 15 * time.Minute, 14 * time.Minute, ""},
		{"negative margin", time.Hour, -time.Minute, "is negative"},
		{"margin leaves too little", 15 * time.Minute, 14*time.Minute + 45*time.Second, "ask for a duration of at least 15m15s"},
		{"margin longer than duration", 30 * time.Minute, time.Hour, "leaves -30m0s of use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateDuration(tt.requested, tt.margin)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("err = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  Error
		want string
	}{
		{"full", Error{Code: "AccessDenied", Message: "Not authorized", RequestID: "r-1", StatusCode: 403},
			"sts AssumeRoleWithWebIdentity failed: AccessDenied: Not authorized (HTTP 403, request id r-1)"},
		{"no envelope", Error{StatusCode: 502}, "sts AssumeRoleWithWebIdentity failed: unexpected answer (HTTP 502)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("multi-line long message is flattened and bounded", func(t *testing.T) {
		e := parseError(400, []byte("<ErrorResponse><Error><Code>X</Code><Message>line one\nline two "+strings.Repeat("é", 400)+"</Message></Error></ErrorResponse>"), "")
		if strings.Contains(e.Message, "\n") || len(e.Message) > maxMessageLen+len("…") || !strings.HasPrefix(e.Message, "line one line two") {
			t.Errorf("Message = %q", e.Message)
		}
		if !strings.HasSuffix(e.Message, "é…") {
			t.Errorf("Message cut inside a character: %q", e.Message[len(e.Message)-8:])
		}
	})
}
