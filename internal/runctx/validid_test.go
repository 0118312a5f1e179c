package runctx

import (
	"strings"
	"testing"
)

// validID must accept exactly what runIDPattern accepts.
func TestValidIDMatchesPattern(t *testing.T) {
	for _, id := range []string{
		"", "a", "0", "-", "_a", ".a", "a-b_c.d", "3f1c9c1e-5b7e-4f7a-9f5e-2f1f0a7b9c1d",
		strings.Repeat("a", 64), strings.Repeat("a", 65), "a b", "a\n", "a/b", "ä", "a\x00",
	} {
		t.Run(id, func(t *testing.T) {
			want := ""
			if runIDPattern().MatchString(id) {
				want = id
			}
			if got := validID(id); got != want {
				t.Errorf("validID(%q) = %q, the pattern says %q", id, got, want)
			}
		})
	}
}

func FuzzValidIDMatchesPattern(f *testing.F) {
	f.Add("3f1c9c1e-5b7e-4f7a-9f5e-2f1f0a7b9c1d")
	f.Add("a.b_c")
	f.Add("-x")
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := validID(id) != "", runIDPattern().MatchString(id); got != want {
			t.Errorf("validID(%q) accepts: %v, the pattern: %v", id, got, want)
		}
	})
}
