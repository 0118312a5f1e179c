package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// neverLogged are claims dropped even when allow-listed: the raw subject
// (logged as SubjectHash instead) and values bound to a single token.
var neverLogged = map[string]bool{
	"sub":     true,
	"nonce":   true,
	"at_hash": true,
	"c_hash":  true,
	"s_hash":  true,
	"sid":     true,
}

// Limits on a claim value.
const (
	maxClaimItems = 64
	maxClaimDepth = 3
)

// FilterClaims returns the allow-listed claims of claims, minus the ones in
// neverLogged, with every string scrubbed and lists and maps bounded. Values
// of other types (e.g. raw JSON) are dropped. It returns nil when nothing is
// left.
func (l *Logger) FilterClaims(claims map[string]any) map[string]any {
	if l == nil || len(claims) == 0 || len(l.allow) == 0 {
		return nil
	}
	out := map[string]any{}
	for k, v := range claims {
		if !l.allow[k] || neverLogged[k] {
			continue
		}
		if fv, ok := filterValue(v, 0); ok {
			out[k] = fv
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// filterValue keeps scalars, lists and maps of them, bounded and scrubbed.
func filterValue(v any, depth int) (any, bool) {
	switch x := v.(type) {
	case string:
		return scrub(x), true
	case bool, float64, float32, int, int64, int32, uint, uint64, uint32, json.Number:
		return x, true
	case []string:
		out := make([]any, 0, min(len(x), maxClaimItems))
		for i, s := range x {
			if i == maxClaimItems {
				break
			}
			out = append(out, scrub(s))
		}
		return out, true
	case []any:
		if depth >= maxClaimDepth {
			return nil, false
		}
		out := make([]any, 0, min(len(x), maxClaimItems))
		for _, item := range x {
			if len(out) == maxClaimItems {
				break
			}
			if fv, ok := filterValue(item, depth+1); ok {
				out = append(out, fv)
			}
		}
		return out, true
	case map[string]any:
		if depth >= maxClaimDepth {
			return nil, false
		}
		out := map[string]any{}
		for k, item := range x {
			if len(out) == maxClaimItems {
				break
			}
			if fv, ok := filterValue(item, depth+1); ok {
				out[scrub(k)] = fv
			}
		}
		return out, true
	default:
		return nil, false
	}
}

// subjectHashLen is the length of a subject hash in hex characters (128
// bits: collision-free for any realistic number of users, short to read).
const subjectHashLen = 32

// isSubjectHash reports whether s is a subject hash: exactly
// subjectHashLen lower-case hex digits (no regular expression: Log runs it
// on every event, in a process that starts for one credential).
func isSubjectHash(s string) bool {
	if len(s) != subjectHashLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// SubjectHash returns HMAC-SHA256(key, iss + "\x00" + sub) in hex, truncated
// to 32 characters: stable per installation, so one user's events can be
// correlated, but not reversible without the key, which never leaves the
// installation's cache store. It returns "" when the logger has no key or
// sub is empty: a weak hash is worse than none.
func (l *Logger) SubjectHash(sub, iss string) string {
	if l == nil || len(l.key) == 0 || sub == "" {
		return ""
	}
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte(iss))
	m.Write([]byte{0})
	m.Write([]byte(sub))
	return hex.EncodeToString(m.Sum(nil))[:subjectHashLen]
}
