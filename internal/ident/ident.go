// Package ident checks opaque names that end up in file names, keyring items
// and audit lines: profile names and Dagster run ids.
//
// Valid is a loop rather than a regular expression because it runs at every
// start of the warm credential path, where compiling one is a measurable
// share of the process (docs/performance.md); a test keeps it equal to the
// pattern it documents.
package ident

// MaxLen is the longest name Valid accepts.
const MaxLen = 64

// Valid reports whether s matches ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$: an
// ASCII letter or digit, then up to 63 letters, digits, '.', '_' or '-'.
func Valid(s string) bool {
	if s == "" || len(s) > MaxLen || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
