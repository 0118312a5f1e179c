package awssts

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Session name limits: RoleSessionName is 2–64 characters of [\w+=,.@-]
// (specs §1.2). STS reads \w as ASCII letters, digits and underscore.
const (
	minSessionNameLen = 2
	maxSessionNameLen = 64
)

// FallbackSessionName is used when nothing usable is left of a session name.
const FallbackSessionName = "dagster-oidc"

// Session name template variables. Callers fill those they know; absent or
// empty ones expand to "".
const (
	VarRunID    = "run_id"   // the Dagster run id (a UUID)
	VarJob      = "job"      // the Dagster job name
	VarEmail    = "email"    // the email claim
	VarSubject  = "sub"      // the sub claim
	VarUsername = "username" // the preferred_username claim
	VarProfile  = "profile"  // the dagster-oidc profile name
)

// SessionName expands a session name template and sanitises the result with
// SanitizeSessionName.
//
// The syntax is plain text with {{name}} placeholders, e.g. "{{run_id}}" or
// "dagster-{{job}}-{{email}}"; spaces inside the braces are ignored, and an
// unknown or empty variable expands to "". An unterminated "{{" is kept as
// text (and then sanitised). An empty template means the first non-empty of
// run_id, email and sub, so a Dagster run is labelled by its run id and an
// interactive session by its user.
func SessionName(template string, vars map[string]string) string {
	if strings.TrimSpace(template) == "" {
		for _, k := range []string{VarRunID, VarEmail, VarSubject} {
			if v := vars[k]; v != "" {
				return SanitizeSessionName(v)
			}
		}
		return FallbackSessionName
	}
	var b strings.Builder
	rest := template
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			b.WriteString(rest)
			break
		}
		end := strings.Index(rest[open+2:], "}}")
		if end < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:open])
		name := strings.TrimSpace(rest[open+2 : open+2+end])
		b.WriteString(vars[name])
		rest = rest[open+2+end+2:]
	}
	return SanitizeSessionName(b.String())
}

// SanitizeSessionName turns any string into a valid RoleSessionName,
// deterministically:
//
//   - every run of characters outside [A-Za-z0-9_+=,.@-] (spaces, "/", ":",
//     non-ASCII letters, ...) becomes one "-", and leading and trailing "-"
//     are trimmed;
//   - a result longer than 64 characters keeps its first 55 characters and
//     ends with "-" and 8 hex digits of the SHA-256 of the input, so two long
//     inputs that share a prefix still get different names;
//   - an empty result becomes FallbackSessionName and a one-character result
//     is prefixed with FallbackSessionName + "-".
func SanitizeSessionName(s string) string {
	var b strings.Builder
	replaced := false
	for _, r := range s {
		if sessionNameRune(r) {
			b.WriteRune(r)
			replaced = false
			continue
		}
		if !replaced {
			b.WriteByte('-')
			replaced = true
		}
	}
	out := strings.Trim(b.String(), "-")
	switch {
	case out == "":
		return FallbackSessionName
	case len(out) < minSessionNameLen:
		return FallbackSessionName + "-" + out
	case len(out) > maxSessionNameLen:
		sum := sha256.Sum256([]byte(s))
		suffix := "-" + hex.EncodeToString(sum[:4])
		return out[:maxSessionNameLen-len(suffix)] + suffix
	}
	return out
}

// sessionNameRune reports whether r is in [\w+=,.@-] with ASCII \w.
func sessionNameRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("_+=,.@-", r)
}

// validSessionName checks a session name without changing it.
func validSessionName(s string) error {
	if n := len(s); n < minSessionNameLen || n > maxSessionNameLen {
		return fmt.Errorf("role session name %q must be %d to %d characters long", s, minSessionNameLen, maxSessionNameLen)
	}
	for _, r := range s {
		if !sessionNameRune(r) {
			return fmt.Errorf("role session name %q has %q; only letters, digits and _+=,.@- are allowed", s, r)
		}
	}
	return nil
}
