package termsafe

import "testing"

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
