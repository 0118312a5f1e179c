package output

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// table is an outcome table that prints its name, or fails.
type table struct{ err error }

func (t table) Explain(w io.Writer) error {
	if t.err != nil {
		return t.err
	}
	_, err := fmt.Fprintln(w, "  RULE ...")
	return err
}

func TestWriteExplanation(t *testing.T) {
	exp := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	src := &SourceDoc{Chosen: "device", Reason: "flow: auto found no workload identity; human login via device",
		Candidates: []CandidateDoc{{Name: "kubernetes", Reason: "no service account token"}}}
	tok := &ExplainedToken{Source: "device", Expiry: exp, Claims: map[string]any{"sub": "alice"}}
	header := "Profile:      dev (environment prod)\nSource:       device (flow: auto found no workload identity; human login via device)\n  - kubernetes         no service account token\n"
	tests := []struct {
		name    string
		x       Explanation
		want    string
		wantErr error
	}{
		{name: "no token", x: Explanation{Profile: "dev", Environment: "prod", Source: src}, want: header},
		{name: "token, run and sections", x: Explanation{Profile: "dev", Environment: "prod", Source: src, Token: tok, Job: "etl",
			Sections: []ExplainedSection{{Name: "AWS roles", Table: table{}}, {Name: "GCP service accounts"}}},
			want: header + "Token:        from device, expires 2026-03-04T05:06:07Z\nClaims:\n  sub:                 alice\n" +
				"Run:          id \"\", job \"etl\", location \"\"\n\nAWS roles:\n  RULE ...\n\nGCP service accounts:\n"},
		{name: "expired token and proxy grants", x: Explanation{Profile: "dev", Environment: "prod", Proxy: true, ProxyGrants: "viewer",
			Token: &ExplainedToken{Source: "device", Expiry: exp, Expired: true}},
			want: "Profile:      dev (environment prod)\nToken:        from device, expired (the cached claims are used; --refresh gets a current token) 2026-03-04T05:06:07Z\nClaims:\n\nProxy grants: viewer\n"},
		{name: "a table that fails", x: Explanation{Profile: "dev", Environment: "prod", Token: tok,
			Sections: []ExplainedSection{{Name: "AWS roles", Table: table{err: errors.New("boom")}}}}, wantErr: errors.New("boom")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			err := WriteExplanation(&b, tt.x)
			if tt.wantErr != nil {
				if err == nil || err.Error() != tt.wantErr.Error() {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
