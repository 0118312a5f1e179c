package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// keyVersion is mixed into every key hash; bumping it orphans old entries
// instead of misreading them.
const keyVersion = "dagster-oidc/cache-key/v1"

// Key identifies one cached entry. Environment is always part of the key,
// so a dev token is never served to a prod run.
type Key struct {
	// Kind is the entry kind, e.g. KindToken or KindAWS.
	Kind string
	// Profile and Environment name the configuration the entry belongs to.
	Profile, Environment string
	// Issuer and ClientID name the OpenID client that obtained it.
	Issuer, ClientID string
	// Extra distinguishes entries further, e.g. a role ARN or an audience.
	Extra []string
}

// String returns a stable key that is safe as a file name and as a keyring
// item name: "<kind>.<environment>.<hash>", where kind and environment are
// shortened, lower-cased and stripped to [a-z0-9_-] for readability and
// hash is 32 hex digits of the sha256 of every field. Only the hash makes
// the key unique.
func (k Key) String() string {
	b, _ := json.Marshal([]any{keyVersion, k.Kind, k.Profile, k.Environment, k.Issuer, k.ClientID, k.Extra})
	sum := sha256.Sum256(b)
	return label(k.Kind, "entry") + "." + label(k.Environment, "noenv") + "." + hex.EncodeToString(sum[:16])
}

// label makes s readable and safe: lower case, [a-z0-9_-], at most 24 bytes.
func label(s, empty string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 24 {
			break
		}
	}
	if b.Len() == 0 {
		return empty
	}
	return b.String()
}
