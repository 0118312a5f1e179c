package output

import (
	"encoding/json"
	"io"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// TokenJSON is the `token --format json` document.
type TokenJSON struct {
	IDToken string    `json:"id_token"`
	Expiry  time.Time `json:"expiry"`
	// RefreshAt is when `token` stops returning this token from the cache
	// (expiry minus the profile's refresh_margin): a caller caching the
	// token should ask again from then on.
	RefreshAt time.Time      `json:"refresh_at"`
	Source    string         `json:"source"`
	Profile   string         `json:"profile"`
	Claims    map[string]any `json:"claims"`
	// Unverified says why the token's signature was not checked.
	Unverified string `json:"unverified,omitempty"`
}

// JSON writes v as JSON indented by two spaces, one value per call, as
// `token` and `status` print their --format json documents. Claims and
// other strings an IdP chose keep their values, but their C1 controls and
// bidirectional overrides are written as escapes (termsafe.JSON).
func JSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(termsafe.JSON(b), '\n'))
	return err
}
