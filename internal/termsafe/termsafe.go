// Package termsafe makes text from an identity provider, an STS or a token
// safe to print on a terminal (issue 15.4): an IdP that controls a user
// code, a URL, an error description or a claim value must not be able to
// retitle the window, clear the screen or draw fake instructions.
package termsafe

import (
	"strings"
	"unicode/utf8"
)

// Clean returns s without C0 controls (including ESC, CR, LF and TAB), DEL,
// C1 controls (including the one-byte CSI 0x9b) and the Unicode
// bidirectional overrides that reorder what is shown. Invalid UTF-8 bytes
// become U+FFFD. Text that needs no change is returned as is.
func Clean(s string) string {
	if !needsCleaning(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case unsafe(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsCleaning(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

func unsafe(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Lines is [Clean] for text of several lines: it keeps the line breaks.
func Lines(s string) string {
	if !needsCleaning(s) {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Clean(l)
	}
	return strings.Join(lines, "\n")
}

// JSON returns the JSON text b with DEL, the C1 controls and the
// bidirectional overrides that [Clean] removes written as \uXXXX escapes:
// the document decodes to the same values, and a terminal it is printed on
// never receives them raw. encoding/json already escapes the C0 controls;
// outside strings JSON text is ASCII, so only string contents change. Text
// that needs no change is returned as is.
func JSON(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] != 0x7f && b[i] < utf8.RuneSelf {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+12)
	out = append(out, b[:i]...)
	for i < len(b) {
		r, size := utf8.DecodeRune(b[i:])
		if r == 0x7f || (r >= utf8.RuneSelf && unsafe(r)) {
			out = append(out, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

const hex = "0123456789abcdef"
