package ident

import (
	"regexp"
	"strings"
	"testing"
)

// pattern is what Valid documents.
var pattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func TestValidMatchesPattern(t *testing.T) {
	for _, s := range []string{
		"", "a", "0", "-", "_a", ".a", "a-b_c.d", "3f1c9c1e-5b7e-4f7a-9f5e-2f1f0a7b9c1d", "prod", "dev.eu-1",
		strings.Repeat("a", 64), strings.Repeat("a", 65), "a b", "a\n", "a/b", "../x", "ä", "a\x00",
	} {
		t.Run(s, func(t *testing.T) {
			if got, want := Valid(s), pattern.MatchString(s); got != want {
				t.Errorf("Valid(%q) = %v, the pattern says %v", s, got, want)
			}
		})
	}
}

func FuzzValidMatchesPattern(f *testing.F) {
	f.Add("3f1c9c1e-5b7e-4f7a-9f5e-2f1f0a7b9c1d")
	f.Add("a.b_c")
	f.Add("-x")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Valid(s), pattern.MatchString(s); got != want {
			t.Errorf("Valid(%q) = %v, the pattern says %v", s, got, want)
		}
	})
}
