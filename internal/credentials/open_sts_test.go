package credentials

import (
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/exchange/awssts"
)

// TestIssue16_12_STSTimeoutReachesTheClient: aws.sts_timeout of the profile
// is the deadline of the STS client Open builds; unset, the client's default
// applies.
func TestIssue16_12_STSTimeoutReachesTheClient(t *testing.T) {
	for _, tt := range []struct {
		line string
		want time.Duration
	}{
		{"      sts_timeout: 7s\n", 7 * time.Second},
		{"", 0},
	} {
		yaml := "profiles:\n  dev:\n    issuer: https://id.example.com\n    client_id: c\n    aws:\n      region: us-east-1\n" + tt.line +
			"      roles:\n        - role_arn: arn:aws:iam::123456789012:role/data-eng\n"
		s := openYAML(t, yaml, nil)
		c, ok := s.AWS.(*awssts.Client)
		if !ok || c.Deadline != tt.want {
			t.Errorf("AWS exchanger = %#v, want an *awssts.Client with Deadline %s", s.AWS, tt.want)
		}
	}
}
