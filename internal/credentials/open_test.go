package credentials

import (
	"errors"
	"fmt"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
)

func TestWorkloadSetupHint(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{apperr.Usage(flow.ErrNoAudience, ""), "set the audience in the profile"},
		{fmt.Errorf("x: %w", flow.ErrNoTokenPath), "set the token path in the profile"},
		{errors.New("unknown workload source"), ""},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := workloadSetupHint(tt.err); got != tt.want {
			t.Errorf("workloadSetupHint(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
