package cache

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// SchemaVersion is the entry schema this build writes and reads. An entry
// with another version is reported as ErrCorrupt, which callers treat as
// absent: the token is fetched again rather than misread.
const SchemaVersion = 1

// The entry kinds, one per entry type.
const (
	KindToken   = "token"   // TokenEntry
	KindRefresh = "refresh" // RefreshEntry
	KindAWS     = "aws"     // AWSEntry
	KindGCP     = "gcp"     // GCPEntry
)

// envelope is the stored form of every entry.
type envelope struct {
	Schema int             `json:"schema"`
	Kind   string          `json:"kind"`
	Data   json.RawMessage `json:"data"`
}

// Encode wraps v in the versioned envelope
// {"schema":1,"kind":"<kind>","data":{...}}.
func Encode(kind string, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("could not encode %s entry: %w", kind, err)
	}
	out, err := json.Marshal(envelope{Schema: SchemaVersion, Kind: kind, Data: data})
	if err != nil {
		return nil, fmt.Errorf("could not encode %s entry: %w", kind, err)
	}
	return out, nil
}

// Decode unwraps an envelope made by Encode into v. A value that is not an
// envelope, has another schema version or kind, or whose data does not fit
// v is reported as an error wrapping ErrCorrupt that says which.
func Decode(data []byte, kind string, v any) error {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return corruptf("%s entry is not a versioned envelope: %v", kind, err)
	}
	switch {
	case env.Schema == 0:
		return corruptf("%s entry has no schema version", kind)
	case env.Schema != SchemaVersion:
		return corruptf("%s entry has schema version %d, this dagster-oidc reads %d", kind, env.Schema, SchemaVersion)
	case env.Kind != kind:
		return corruptf("entry kind is %q, want %q", env.Kind, kind)
	case len(bytes.TrimSpace(env.Data)) == 0 || bytes.Equal(bytes.TrimSpace(env.Data), []byte("null")):
		return corruptf("%s entry has no data", kind)
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		return corruptf("%s entry data does not decode: %v", kind, err)
	}
	return nil
}

// TokenEntry is a verified ID token (KindToken). It is short-lived and may
// live in the file store.
type TokenEntry struct {
	IDToken string    `json:"id_token"`
	Expiry  time.Time `json:"expiry"`
	// Source is the flow that obtained it, e.g. "device" or "kubernetes".
	Source   string `json:"source"`
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// Audience is the token's aud; an entry without the profile's audience
	// is not served.
	Audience []string `json:"audience,omitempty"`
	Subject  string   `json:"subject"`
	// Claims are the claims the verifier accepted, so that a cache hit needs
	// no parse of the token.
	Claims     map[string]any `json:"claims,omitempty"`
	ObtainedAt time.Time      `json:"obtained_at"`
}

// RefreshEntry is an OAuth refresh token (KindRefresh). It is long-lived
// and belongs in the keyring when one exists; with rotation (specs.md
// §3.4) it must be saved before the tokens it bought are used.
type RefreshEntry struct {
	RefreshToken string    `json:"refresh_token"`
	Issuer       string    `json:"issuer"`
	ClientID     string    `json:"client_id"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// AWSEntry is a set of temporary AWS credentials (KindAWS).
type AWSEntry struct {
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	SessionToken    string    `json:"session_token"`
	Expiration      time.Time `json:"expiration"`
	RoleARN         string    `json:"role_arn"`
	SessionName     string    `json:"session_name"`
}

// GCPEntry is a GCP access token (KindGCP), federated or impersonated.
type GCPEntry struct {
	AccessToken    string    `json:"access_token"`
	Expiry         time.Time `json:"expiry"`
	ServiceAccount string    `json:"service_account,omitempty"`
}
