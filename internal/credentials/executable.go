package credentials

import (
	"context"
	"fmt"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/env"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
	"github.com/dagster-oidc/dagster-oidc/internal/runctx"
)

const (
	// gcpExpirySafety is taken off the ID token's exp in expiration_time, so
	// that consumers reusing an output_file stop before STS finds it expired.
	gcpExpirySafety = time.Minute
	// gcpOutputFileReuse is the least validity an output_file entry needs
	// to be printed again instead of a fresh token.
	gcpOutputFileReuse = 30 * time.Second
)

// Variables Google's client libraries set for an executable-sourced
// credential (specs.md §2.2), and the one its consumer must set.
const (
	GCPEnvAudience         = "GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE"
	GCPEnvTokenType        = "GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE"
	GCPEnvInteractive      = "GOOGLE_EXTERNAL_ACCOUNT_INTERACTIVE"
	GCPEnvOutputFile       = "GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE"
	GCPEnvImpersonated     = "GOOGLE_EXTERNAL_ACCOUNT_IMPERSONATED_EMAIL"
	GCPEnvAllowExecutables = "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES"
)

// ExecutableRequest is what Google's client libraries tell an
// executable-sourced credential (the GOOGLE_EXTERNAL_ACCOUNT_* variables).
type ExecutableRequest struct {
	// Audience is the credential configuration's audience ("" = unknown).
	Audience string
	// TokenType is the subject token type asked for ("" = the profile's).
	TokenType string
	// OutputFile is the libraries' cache file ("" = none).
	OutputFile string
	// ImpersonatedEmail is the service account the configuration names.
	ImpersonatedEmail string
	Run               policy.Run
}

// ExecutableRequestFrom reads the request Google's libraries make through
// the environment, and the Dagster run context. interactive is true when
// they allow a login to prompt (GOOGLE_EXTERNAL_ACCOUNT_INTERACTIVE=1).
func ExecutableRequestFrom(lookup env.Lookup) (q ExecutableRequest, interactive bool) {
	get := func(k string) string { v, _ := lookup(k); return v }
	return ExecutableRequest{
		Audience: get(GCPEnvAudience), TokenType: get(GCPEnvTokenType), OutputFile: get(GCPEnvOutputFile),
		ImpersonatedEmail: get(GCPEnvImpersonated), Run: RunOf(runctx.Parse(nil, lookup)),
	}, get(GCPEnvInteractive) == "1"
}

// Executable returns the executable-sourced response: the output file's
// while it is still valid, else the profile's verified ID token (written to
// the output file).
func (s *Service) Executable(ctx context.Context, q ExecutableRequest) (*output.GCPExecutableResult, error) {
	tokenType, err := s.executableTokenType(q)
	if err != nil {
		return nil, err
	}
	if q.OutputFile != "" {
		prev, usable, err := output.ReadGCPOutputFile(q.OutputFile, s.Clock.Now(), gcpOutputFileReuse)
		if err != nil {
			s.warnf("warning: %v; writing a new one", err)
		}
		if usable {
			return prev, nil
		}
	}
	tok, err := s.Tokens.Token(ctx)
	if err != nil {
		return nil, err
	}
	// Google names the service account only for its own IAM Credentials
	// URL; then the policy must allow it, as for `gcp token`.
	if sa := q.ImpersonatedEmail; sa != "" && len(gcpRules(s.Profile)) > 0 {
		if _, err := s.gcpServiceAccount(tok.Claims, sa, q.Run); err != nil {
			return nil, err
		}
	}
	res := &output.GCPExecutableResult{IDToken: tok.Entry.IDToken, Expiry: executableExpiry(tok.Entry.Expiry, s.Clock.Now()), TokenType: tokenType}
	if q.OutputFile != "" {
		if err := output.WriteGCPOutputFile(q.OutputFile, *res); err != nil {
			s.warnf("warning: %v", err)
		}
	}
	s.record(Record{Event: "token_served", Outcome: "ok", Source: tok.Entry.Source, ServiceAccount: q.ImpersonatedEmail, Expiry: res.Expiry, Run: q.Run, Unverified: tok.Unverified != ""})
	return res, nil
}

// executableTokenType checks the configuration's audience against the
// profile's and returns the token_type to answer: the one asked for, else
// the profile's subject_token_type, else the id_token type.
func (s *Service) executableTokenType(q ExecutableRequest) (string, error) {
	p := s.Profile
	if g := p.GCP; g != nil && q.Audience != "" && g.Audience != "" && q.Audience != g.Audience {
		return "", apperr.Usage(fmt.Errorf("the credential configuration's audience %q is not profile %q's gcp.audience %q", q.Audience, p.Name, g.Audience),
			"write the file again: dagster-oidc gcp config --profile "+p.Name)
	}
	tt := q.TokenType
	if tt == "" && p.GCP != nil {
		tt = p.GCP.SubjectTokenType
	}
	switch tt {
	case "":
		return output.GCPTokenTypeIDToken, nil
	case output.GCPTokenTypeIDToken, output.GCPTokenTypeJWT:
		return tt, nil
	}
	return "", apperr.Usage(fmt.Errorf("unsupported subject token type %q: dagster-oidc provides OIDC ID tokens", tt),
		"set subject_token_type to "+output.GCPTokenTypeJWT+" in the credential configuration")
}

// executableExpiry is the expiration_time to print: the ID token's exp
// minus gcpExpirySafety, unless that is already past.
func executableExpiry(exp, now time.Time) time.Time {
	if safe := exp.Add(-gcpExpirySafety); safe.After(now) {
		return safe
	}
	return exp
}
