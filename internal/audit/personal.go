package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// personalClaims are the claims whose values name or identify a person.
// Their values never reach a sink unless audit.claims lists the claim (sub:
// never), and they are cut out of the free text of a line (reason, error
// class).
var personalClaims = []string{
	"sub", "email", "preferred_username", "name", "given_name", "family_name", "middle_name",
	"nickname", "phone_number", "upn", "unique_name", "username", "login", "oid",
}

// RedactedPersonal replaces a personal value in a line.
const RedactedPersonal = "[personal]"

// minPersonalLen is the shortest value cut out of free text: shorter ones
// (a one-letter name) would cut up unrelated words.
const minPersonalLen = 3

// PersonalValues returns the string values of the personal claims in claims
// (sub, email, preferred_username, name, …) that allow does not list; sub is
// returned even when listed, since it is never written. Pass them to
// RedactPersonal for any text that may quote them: an error message, a
// verbose log line.
func PersonalValues(claims map[string]any, allow []string) []string {
	if len(claims) == 0 {
		return nil
	}
	var out []string
	for _, k := range personalClaims {
		if k != "sub" && slices.Contains(allow, k) {
			continue
		}
		if v, ok := claims[k].(string); ok && v != "" {
			out = append(out, v)
		}
	}
	return out
}

// RedactPersonal replaces every whole-word occurrence of each value in s
// (not preceded or followed by a letter or digit) with RedactedPersonal,
// longest values first, so that a session name holding a user name is cut
// whole. Values shorter than three bytes are left alone.
func RedactPersonal(s string, values ...string) string {
	if len(values) > 1 {
		values = slices.Clone(values)
		slices.SortStableFunc(values, func(a, b string) int { return len(b) - len(a) })
	}
	for _, v := range values {
		if len(v) < minPersonalLen || !strings.Contains(s, v) {
			continue
		}
		var b strings.Builder
		rest := s
		for {
			i := strings.Index(rest, v)
			if i < 0 {
				b.WriteString(rest)
				break
			}
			end := i + len(v)
			if wordByte(rest, i-1) || wordByte(rest, end) {
				b.WriteString(rest[:i+1])
				rest = rest[i+1:]
				continue
			}
			b.WriteString(rest[:i])
			b.WriteString(RedactedPersonal)
			rest = rest[end:]
		}
		s = b.String()
	}
	return s
}

// wordByte reports whether s[i] exists and is an ASCII letter or digit.
func wordByte(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return false
	}
	c := s[i]
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// Personal returns PersonalValues(claims, the logger's audit.claims).
func (l *Logger) Personal(claims map[string]any) []string {
	if l == nil {
		return PersonalValues(claims, nil)
	}
	return PersonalValues(claims, l.allowList)
}

// sessionHashLen is the length of a session name hash in hex characters.
const sessionHashLen = 32

// SessionHash returns the "session_hash" of an STS role session name:
// HMAC-SHA256 under a key derived from the installation's audit key, hex,
// 32 characters. The installation holding the key can compute it from a
// session name seen in CloudTrail (`dagster-oidc audit tail
// --match-session NAME`); the log alone does not reveal the name. It
// returns "" without a key or name.
func (l *Logger) SessionHash(name string) string {
	if l == nil {
		return ""
	}
	return sessionHash(l.sessionKey, name)
}

// SessionHash is Logger.SessionHash for a caller holding only the
// installation key (audit tail).
func SessionHash(key []byte, name string) string {
	return sessionHash(deriveKey(key, labelSession), name)
}

func sessionHash(sessionKey []byte, name string) string {
	if len(sessionKey) == 0 || name == "" {
		return ""
	}
	m := hmac.New(sha256.New, sessionKey)
	m.Write([]byte(name))
	return hex.EncodeToString(m.Sum(nil))[:sessionHashLen]
}
