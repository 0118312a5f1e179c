package flow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

// Names of the workload identity sources, as written in `flow:` and --flow.
const (
	SourceGitHubActions   = "github-actions"
	SourceGitLab          = "gitlab"
	SourceWebIdentityFile = "web-identity-file"
	SourceAzureFile       = "azure-file"
	SourceKubernetes      = "kubernetes"
	SourceGCPMetadata     = "gcp-metadata"
	SourceFile            = "file"
)

// Environment variables and paths the workload sources read. Each is read only
// by the source that owns it.
const (
	// DefaultKubernetesTokenPath is where Kubernetes mounts a pod's service-account token.
	DefaultKubernetesTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	// DefaultGitLabTokenVariable is the variable the gitlab source reads when
	// no other is configured; declare it under `id_tokens:` in .gitlab-ci.yml.
	DefaultGitLabTokenVariable = "GITLAB_OIDC_TOKEN"

	envAWSWebIdentityTokenFile = "AWS_WEB_IDENTITY_TOKEN_FILE"
	envAzureFederatedTokenFile = "AZURE_FEDERATED_TOKEN_FILE"
	envGitHubRequestURL        = "ACTIONS_ID_TOKEN_REQUEST_URL"
	envGitHubRequestToken      = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
	envGitHubActions           = "GITHUB_ACTIONS"
	envGitLabCI                = "GITLAB_CI"
	envGCEMetadataHost         = "GCE_METADATA_HOST"
)

// workloadMaxBody caps token files and response bodies (1 MiB, as the Google
// external_account sources do).
const workloadMaxBody = 1 << 20

// Env looks up an environment variable; os.LookupEnv in production.
type Env func(string) (string, bool)

// WorkloadOptions configures a workload identity source and ambient detection.
// Every side effect is a field; zero values get production defaults except Env,
// which is treated as an empty environment when nil.
type WorkloadOptions struct {
	// Path is the token file of kubernetes (default DefaultKubernetesTokenPath)
	// and file (required); for web-identity-file and azure-file it overrides
	// the path their environment variable names.
	Path string
	// Audience is requested from github-actions and gcp-metadata (required
	// there) and, when set, must be among the aud claim of every source's token.
	Audience string
	// EnvVar names the variable holding the gitlab ID token (default
	// DefaultGitLabTokenVariable).
	EnvVar string
	// HTTP is the client of github-actions and gcp-metadata. It should not use
	// a proxy for the link-local metadata server.
	HTTP *http.Client
	// Env looks up environment variables.
	Env Env
	// Clock tells the time that token expiry is checked against.
	Clock clock.Clock
	// Sleep waits between retries; it returns early with ctx's error.
	Sleep func(context.Context, time.Duration) error
	// ReadFile reads a file by path; default os.ReadFile capped at 1 MiB. It
	// is called on every Token call, never cached, so rotated files are seen.
	ReadFile func(string) ([]byte, error)
	// Timeout bounds each HTTP request (default 10s for github-actions, 3s for
	// gcp-metadata).
	Timeout time.Duration
	// Skew is how far past exp a token is still accepted (the profile's
	// clock_skew).
	Skew time.Duration
}

// withDefaults fills the zero fields with production implementations.
func (o WorkloadOptions) withDefaults() WorkloadOptions {
	if o.Env == nil {
		o.Env = func(string) (string, bool) { return "", false }
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Sleep == nil {
		o.Sleep = clock.Sleep
	}
	if o.ReadFile == nil {
		o.ReadFile = workloadReadFile
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Transport: &http.Transport{}} // no proxy: the metadata server is link-local
	}
	return o
}

// lookup returns the value of a set, non-empty variable.
func (o WorkloadOptions) lookup(name string) (string, bool) {
	v, ok := o.Env(name)
	return v, ok && v != ""
}

// ErrTokenExpired is returned for a workload token whose exp claim has passed.
var ErrTokenExpired = errors.New("token expired")

// ErrWrongAudience is returned for a workload token without the expected audience.
var ErrWrongAudience = errors.New("wrong audience")

// WorkloadCause is why a workload source gave no usable token; the caller
// chooses the advice for it and the source.
type WorkloadCause int

// The causes of a WorkloadError.
const (
	// CauseFailed: the platform answered with an error, or the token
	// could not be used (empty, too large, no exp claim).
	CauseFailed WorkloadCause = iota
	// CauseUnset: the variable holding the token or its path is not set.
	CauseUnset
	// CauseUnreadable: the token file could not be read.
	CauseUnreadable
	// CauseUnreachable: the platform's token endpoint did not answer.
	CauseUnreachable
	// CauseNoIdentity: the platform has no identity to give (no service
	// account attached).
	CauseNoIdentity
	// CauseRejected: a token was read but is not a JWT or lacks the
	// expected audience (a denial, exit 4).
	CauseRejected
	// CauseExpired: a token was read but its exp has passed (a denial,
	// exit 4): nothing rotated it.
	CauseExpired
)

// WorkloadError is a failure of a workload identity source. It names the
// source and where it looked (a path, a variable, an endpoint), never the
// token, and carries no advice: the caller picks that from Source, Cause
// and Variable.
type WorkloadError struct {
	// Source is the source's name ("kubernetes", "github-actions", ...).
	Source string
	// Where is what the source read: "file /path", "variable NAME", ...
	Where string
	// Cause classifies Err.
	Cause WorkloadCause
	// Variable is the variable the source reads the token (or its path)
	// from, when it has one.
	Variable string
	// Err is the cause.
	Err error
}

// Error says which source failed, where, and why.
func (e *WorkloadError) Error() string {
	return fmt.Sprintf("could not get a token from %s (%s): %v", e.Source, e.Where, e.Err)
}

// Unwrap returns the cause.
func (e *WorkloadError) Unwrap() error { return e.Err }

// workloadFail wraps err in a WorkloadError of cause c (CauseExpired or
// CauseRejected when err says so) with the kind of its exit code. An
// interruption is left unclassified so that it still exits 130.
func workloadFail(source, where, variable string, c WorkloadCause, err error) error {
	switch {
	case errors.Is(err, ErrTokenExpired):
		// The path was right: nothing replaced the token before it expired.
		c = CauseExpired
	case errors.Is(err, ErrNotJWT) || errors.Is(err, ErrWrongAudience):
		c = CauseRejected
	}
	werr := &WorkloadError{Source: source, Where: where, Cause: c, Variable: variable, Err: err}
	if errors.Is(err, context.Canceled) {
		return werr
	}
	if c == CauseExpired || c == CauseRejected {
		// A token that was read but cannot be accepted is a verification
		// failure (exit 4), not a failure to read it.
		return apperr.Denied(werr, "")
	}
	return apperr.New(apperr.KindError, werr, "")
}

// workloadToken checks raw as the token of a workload source: a JWT, carrying
// o.Audience when set, with an exp claim still in the future. The error is the
// cause only; callers wrap it with workloadFail.
func workloadToken(source, raw string, o WorkloadOptions) (*Token, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("the token is empty")
	}
	p, err := peekSigned(raw)
	if err != nil {
		return nil, err
	}
	if o.Audience != "" && !p.standard.Audience.Contains(o.Audience) {
		return nil, fmt.Errorf("%w: the token's audience %q does not include %q", ErrWrongAudience, []string(p.standard.Audience), o.Audience)
	}
	exp := p.expiry()
	if exp.IsZero() {
		return nil, errors.New("the token has no exp claim")
	}
	if now := o.Clock.Now(); !now.Before(exp.Add(o.Skew)) {
		return nil, fmt.Errorf("the %w at %s (allowed clock skew %s)", ErrTokenExpired, exp.UTC().Format(time.RFC3339), o.Skew)
	}
	return &Token{IDToken: raw, Expiry: exp, Source: source}, nil
}
