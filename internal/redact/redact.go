// Package redact removes secrets from text that leaves the process: an
// IdP's or STS's error message, an audit reason, a verbose log line. It
// runs before any truncation, so a token cut in half cannot survive as a
// fragment the patterns no longer recognise (issue 15.8).
package redact

import (
	"regexp"
	"strings"
	"sync"
)

// Marker replaces every secret.
const Marker = "[redacted]"

// jwtLike matches compact JWS/JWE serialisations (three or five dot-joined
// base64url segments) and anything that starts like a JSON header
// ("eyJ..."), whole or cut.
var jwtLike = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(\.[A-Za-z0-9_-]+){0,2}|eyJ[A-Za-z0-9_-]{4,}(\.[A-Za-z0-9_-]*){0,4}`)
})

// Text returns s with each of secrets (the token or code that was sent,
// a client secret) and every JWT-like string replaced by [Marker].
// Secrets shorter than 8 bytes are ignored: replacing them would mangle
// ordinary words.
func Text(s string, secrets ...string) string {
	for _, secret := range secrets {
		if len(secret) >= 8 {
			s = strings.ReplaceAll(s, secret, Marker)
		}
	}
	if strings.Contains(s, ".") || strings.Contains(s, "eyJ") {
		s = jwtLike().ReplaceAllString(s, Marker)
	}
	return s
}
