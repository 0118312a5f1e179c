package credentials

import (
	"errors"
	"strings"
	"testing"
)

// TestFinding8_AuditReasonRedactedBeforeCut is issue 15.8 for the audit
// reason: cut to 300 bytes first, a JWT at the cut lost the dots the
// scrubber looks for and survived as a fragment.
func TestFinding8_AuditReasonRedactedBeforeCut(t *testing.T) {
	const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNlY3JldA"
	for _, at := range []int{0, 280, 290, 298} {
		msg := strings.Repeat("x", at) + jwt + " refused"
		_, reason := errorClass(errors.New(msg))
		if strings.Contains(reason, "eyJ") || strings.Contains(reason, "c2lnbmF0") {
			t.Errorf("token at byte %d: reason %q keeps part of the token", at, reason)
		}
		if len(reason) > 300 {
			t.Errorf("reason is %d bytes, want at most 300", len(reason))
		}
	}
}
