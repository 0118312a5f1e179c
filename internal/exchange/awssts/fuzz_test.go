package awssts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseResponse feeds STS answers (success and error shapes) to the
// parsers: they must never panic, a parsed success always has keys and an
// expiration, and an error never carries the whole answer.
func FuzzParseResponse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(400, b)
			f.Add(200, b)
		}
	}
	f.Add(200, []byte(`<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>A</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`))
	f.Add(403, []byte(`<ErrorResponse><Error><Code>AccessDenied</Code><Message>x</Message></Error></ErrorResponse>`))
	f.Add(500, []byte("not xml"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status >= 200 && status < 300 {
			c, err := parseSuccess(body)
			if err == nil && (c.AccessKeyID == "" || c.SecretAccessKey == "" || c.Expiration.IsZero()) {
				t.Fatalf("incomplete credentials accepted: %+v", c)
			}
			// An error may name an element, never carry the answer whole.
			if err != nil && len(body) > 600 && strings.Contains(err.Error(), string(body)) {
				t.Fatalf("error echoes the body: %v", err)
			}
			return
		}
		e := parseError(status, body, "")
		if e == nil {
			t.Fatal("nil error for a failed answer")
		}
		_ = e.Error()
	})
}
