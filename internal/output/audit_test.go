package output

import (
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/audit"
)

func TestAuditVerified(t *testing.T) {
	tests := []struct {
		name        string
		files       []string
		rep         audit.Report
		checkpoints bool
		read        int
		want        string
	}{
		{name: "from genesis", files: []string{"a.jsonl"}, rep: audit.Report{Lines: 3, Genesis: true},
			want: "a.jsonl: 3 lines in 1 files, keyed chain intact from its genesis record\n"},
		{name: "rotated, with checkpoints", files: []string{"a.jsonl.1", "a.jsonl"}, rep: audit.Report{Lines: 9, FirstSeq: 5, Checkpoints: 2, Rotated: 1},
			checkpoints: true, read: 3,
			want: "a.jsonl: 9 lines in 2 files, keyed chain intact from chain line 5 (earlier lines rotated away); 2 of 3 checkpoints matched, 1 older than the kept lines\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := AuditVerified(&b, tt.files, tt.rep, tt.checkpoints, tt.read); err != nil || b.String() != tt.want {
				t.Errorf("AuditVerified = %v, %q; want %q", err, b.String(), tt.want)
			}
		})
	}
}
