package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// hashedPrefix marks a file name derived from a hash of the key rather than
// the key itself; safe keys never start with it, so the two cannot collide.
const hashedPrefix = "sha256-"

// safeName maps any key to a file-name-safe string. Keys that are already
// short and made of [a-z0-9._-] (as [Key.String] is) are kept readable;
// anything else is replaced by the hex sha256 of the key. Upper case is
// hashed too, because macOS and Windows file systems ignore case.
func safeName(key string) string {
	if isSafe(key) && !strings.HasPrefix(key, hashedPrefix) {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return hashedPrefix + hex.EncodeToString(sum[:])
}

func isSafe(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}
