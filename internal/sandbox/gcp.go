package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox/gcpfake"
)

// gcpPath is where Google's STS and IAM Credentials API are emulated:
// gcpPath + gcpfake.TokenPath and gcpPath + gcpfake.IAMBasePath.
const gcpPath = "/gcp"

// The sandbox's GCP workload identity provider and the service account its
// federated principals may impersonate; they exist nowhere else.
const (
	DemoGCPAudience       = "//iam.googleapis.com/projects/000000000000/locations/global/workloadIdentityPools/sandbox/providers/sandbox"
	DemoGCPServiceAccount = "pipelines@sandbox-project.iam.gserviceaccount.com"
)

// newGCP is the emulator of Google STS and IAM Credentials: it accepts
// ID tokens of this sandbox whose aud is the client ID (the provider's
// allowed audience) and lets every federated principal impersonate
// DemoGCPServiceAccount.
func (s *Server) newGCP() http.Handler {
	fake := gcpfake.New(gcpfake.Options{
		Audience:        DemoGCPAudience,
		ServiceAccounts: map[string]bool{DemoGCPServiceAccount: true},
		Clock:           s.opts.Clock,
		Verify: func(ctx context.Context, raw string) (string, error) {
			tok, err := verifyToken(ctx, s.store, s.issuer, s.opts, raw)
			if err != nil {
				return "", err
			}
			if !slices.Contains(tok.Audience, s.opts.ClientID) {
				return "", fmt.Errorf("the token's audience %v is not an allowed audience (%s)", tok.Audience, s.opts.ClientID)
			}
			return tok.Subject, nil
		},
	})
	return http.StripPrefix(gcpPath, fake)
}

// GCPTokenURL is the value for gcp.token_url: the emulated Google STS.
func (s *Server) GCPTokenURL() string { return s.issuer + gcpPath + gcpfake.TokenPath }

// GCPImpersonationURL is the value for gcp.impersonation_url: the root of
// the emulated IAM Credentials API.
func (s *Server) GCPImpersonationURL() string { return s.issuer + gcpPath + gcpfake.IAMBasePath }
