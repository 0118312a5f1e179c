package output

import (
	"strings"
	"testing"
	"time"
)

// TestTokenJSON: the document's field names, UTC times, and unverified
// only when set.
func TestTokenJSON(t *testing.T) {
	exp := time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC)
	var b strings.Builder
	err := JSON(&b, TokenJSON{IDToken: "eyJ.x.y", Expiry: exp, RefreshAt: exp.Add(-5 * time.Minute), Source: "device", Profile: "dev",
		Claims: map[string]any{"sub": "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "id_token": "eyJ.x.y",
  "expiry": "2026-12-01T13:00:00Z",
  "refresh_at": "2026-12-01T12:55:00Z",
  "source": "device",
  "profile": "dev",
  "claims": {
    "sub": "alice"
  }
}
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := JSON(&b, TokenJSON{Unverified: "verify: none"}); err != nil || !strings.Contains(b.String(), `"unverified": "verify: none"`) {
		t.Errorf("unverified: %v %s", err, b.String())
	}
}
