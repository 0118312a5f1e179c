package termsafe

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestClean(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "WDJB-MJHT", "WDJB-MJHT"},
		{"unicode kept", "Jörg Müller 日本", "Jörg Müller 日本"},
		{"window title (OSC)", "ABCD\x1b]0;pwned\x07", "ABCD]0;pwned"},
		{"clear screen (CSI)", "\x1b[2J\x1b[HEnter your password:", "[2J[HEnter your password:"},
		{"newline and carriage return", "a\r\nb\tc", "abc"},
		{"C1 CSI as a rune", "x\u009b2Jy", "x2Jy"},
		{"C1 CSI as a lone byte", "x\x9b2Jy", "x\ufffd2Jy"},
		{"DEL", "a\x7fb", "ab"},
		{"bidi override", "https://evil\u202e/moc.elpmaxe", "https://evil/moc.elpmaxe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Clean(tt.in); got != tt.want {
				t.Errorf("Clean(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"plain", map[string]string{"email": "alice@example.com"}, `{"email":"alice@example.com"}`},
		{"non-ASCII letters kept", map[string]string{"name": "Zoë 山田"}, `{"name":"Zoë 山田"}`},
		{"C1 CSI escaped", map[string]string{"name": "a\u009b2Jb"}, `{"name":"a\u009b2Jb"}`},
		{"DEL and bidi override escaped", map[string]string{"name": "x\u007fy\u202ez\u2066"}, `{"name":"x\u007fy\u202ez\u2066"}`},
		{"C0 left to encoding/json", map[string]string{"name": "a\x1b[2Jb"}, `{"name":"a\u001b[2Jb"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := JSON(raw)
			if string(got) != tt.want {
				t.Fatalf("JSON(%s) = %s, want %s", raw, got, tt.want)
			}
			var back, orig any
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("escaped text is not JSON: %v", err)
			}
			_ = json.Unmarshal(raw, &orig)
			if !reflect.DeepEqual(back, orig) {
				t.Errorf("decodes to %v, want %v", back, orig)
			}
			for _, r := range string(got) {
				if unsafe(r) {
					t.Errorf("%q left raw in %q", r, got)
				}
			}
		})
	}
}
