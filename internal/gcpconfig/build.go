// Package gcpconfig writes the external_account credential configuration
// (specs.md §2.1) that makes Google's client libraries run
// `dagster-oidc gcp executable` as an executable-sourced credential (§2.2),
// exchange its ID token at STS and impersonate a service account.
package gcpconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/gcpsts"
	"github.com/dagster-oidc/dagster-oidc/internal/safehttp"
)

// Limits Google's libraries enforce (specs.md §2.2, §2.4).
const (
	// DefaultTimeoutMillis is the executable timeout written when none is given.
	DefaultTimeoutMillis = 30000
	// MinTimeoutMillis and MaxTimeoutMillis bound timeout_millis.
	MinTimeoutMillis = 5000
	MaxTimeoutMillis = 120000
	// MinTokenLifetime and MaxTokenLifetime bound token_lifetime_seconds.
	MinTokenLifetime = 600 * time.Second
	MaxTokenLifetime = 43200 * time.Second
)

// Options describe one external_account file.
type Options struct {
	// Audience is the workload identity provider's full resource name.
	Audience string
	// SubjectTokenType defaults to urn:ietf:params:oauth:token-type:jwt.
	SubjectTokenType string
	// TokenURL defaults to Google's STS endpoint.
	TokenURL string
	// ServiceAccount, when set, is impersonated; its generateAccessToken URL
	// under Google's IAM Credentials API becomes the impersonation URL.
	ServiceAccount string
	// ImpersonationURL is the full service_account_impersonation_url; it
	// overrides the one derived from ServiceAccount (e.g. for a local fake).
	ImpersonationURL string
	// TokenLifetime of the impersonated token, 600s to 43200s; 0 leaves
	// Google's default (one hour). Requires impersonation.
	TokenLifetime time.Duration
	// Command is the executable's argv: an absolute binary path and its
	// arguments, none containing whitespace.
	Command []string
	// TimeoutMillis is the executable's timeout, 5000 to 120000; 0 means
	// DefaultTimeoutMillis.
	TimeoutMillis int
	// OutputFile, when set, is the absolute path of the executable's cache
	// file (GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE).
	OutputFile string
}

// file is the external_account JSON, keys in the order of specs.md §2.1.
type file struct {
	Type                           string                       `json:"type"`
	Audience                       string                       `json:"audience"`
	SubjectTokenType               string                       `json:"subject_token_type"`
	TokenURL                       string                       `json:"token_url"`
	ServiceAccountImpersonationURL string                       `json:"service_account_impersonation_url,omitempty"`
	ServiceAccountImpersonation    *serviceAccountImpersonation `json:"service_account_impersonation,omitempty"`
	CredentialSource               credentialSource             `json:"credential_source"`
}

type serviceAccountImpersonation struct {
	TokenLifetimeSeconds int64 `json:"token_lifetime_seconds"`
}

type credentialSource struct {
	Executable executable `json:"executable"`
}

type executable struct {
	Command       string `json:"command"`
	TimeoutMillis int    `json:"timeout_millis"`
	OutputFile    string `json:"output_file,omitempty"`
}

// Build validates o and returns the external_account JSON, indented, with a
// trailing newline. Invalid options are usage errors carrying a hint.
func Build(o Options) ([]byte, error) {
	f, err := o.file()
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("could not encode the external_account file: %w", err)
	}
	return append(b, '\n'), nil
}

func (o Options) file() (*file, error) {
	if err := validateAudience(o.Audience); err != nil {
		return nil, err
	}
	subjectType := o.SubjectTokenType
	if subjectType == "" {
		subjectType = gcpsts.TokenTypeJWT
	}
	if subjectType != gcpsts.TokenTypeJWT && subjectType != gcpsts.TokenTypeIDToken {
		return nil, invalid(fmt.Errorf("unsupported subject token type %q", subjectType),
			"use "+gcpsts.TokenTypeJWT+" or "+gcpsts.TokenTypeIDToken)
	}
	tokenURL := o.TokenURL
	if tokenURL == "" {
		tokenURL = gcpsts.DefaultTokenURL
	}
	if err := validateEndpoint("token URL", tokenURL); err != nil {
		return nil, err
	}
	impURL := o.ImpersonationURL
	if impURL == "" && o.ServiceAccount != "" {
		if !strings.Contains(o.ServiceAccount, "@") {
			return nil, invalid(fmt.Errorf("service account %q is not an email address", o.ServiceAccount),
				"use the service account's email, e.g. NAME@PROJECT.iam.gserviceaccount.com")
		}
		impURL = gcpsts.ImpersonationURL(gcpsts.DefaultImpersonationURLBase, o.ServiceAccount)
	}
	if impURL != "" {
		if err := validateEndpoint("service account impersonation URL", impURL); err != nil {
			return nil, err
		}
	}
	f := &file{
		Type:                           "external_account",
		Audience:                       o.Audience,
		SubjectTokenType:               subjectType,
		TokenURL:                       tokenURL,
		ServiceAccountImpersonationURL: impURL,
	}
	if o.TokenLifetime != 0 {
		if err := validateLifetime(o.TokenLifetime, impURL != ""); err != nil {
			return nil, err
		}
		f.ServiceAccountImpersonation = &serviceAccountImpersonation{TokenLifetimeSeconds: int64(o.TokenLifetime / time.Second)}
	}
	exe, err := o.executable()
	if err != nil {
		return nil, err
	}
	f.CredentialSource.Executable = exe
	return f, nil
}

func (o Options) executable() (executable, error) {
	if err := validateCommand(o.Command); err != nil {
		return executable{}, err
	}
	timeout := o.TimeoutMillis
	if timeout == 0 {
		timeout = DefaultTimeoutMillis
	}
	if timeout < MinTimeoutMillis || timeout > MaxTimeoutMillis {
		return executable{}, invalid(fmt.Errorf("executable timeout %d ms is outside %d..%d ms", timeout, MinTimeoutMillis, MaxTimeoutMillis),
			"Google's client libraries refuse timeouts outside 5 to 120 seconds")
	}
	if o.OutputFile != "" && !filepath.IsAbs(o.OutputFile) {
		return executable{}, invalid(fmt.Errorf("output file %q is not an absolute path", o.OutputFile),
			"the consumer resolves it from its own working directory: give an absolute path")
	}
	return executable{Command: strings.Join(o.Command, " "), TimeoutMillis: timeout, OutputFile: o.OutputFile}, nil
}

func validateAudience(aud string) error {
	const hint = "use the provider's full resource name: //iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER"
	switch {
	case aud == "":
		return invalid(errors.New("the gcp audience is empty"), hint)
	case !strings.HasPrefix(aud, "//") || !strings.Contains(aud, "/workloadIdentityPools/") || !strings.Contains(aud, "/providers/"):
		return invalid(fmt.Errorf("the gcp audience %q is not a workload identity provider name", aud), hint)
	case strings.IndexFunc(aud, unicode.IsSpace) >= 0:
		return invalid(fmt.Errorf("the gcp audience %q contains whitespace", aud), hint)
	}
	return nil
}

// validateEndpoint accepts https URLs, and http ones on a loopback host only.
func validateEndpoint(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return invalid(fmt.Errorf("the %s %q is not an absolute URL", what, raw), "use an https:// URL")
	}
	if safehttp.Secure(u) {
		return nil
	}
	return invalid(fmt.Errorf("the %s %q must use https", what, raw), "plain http is accepted only on a loopback address")
}

func validateLifetime(d time.Duration, impersonating bool) error {
	switch {
	case !impersonating:
		return invalid(errors.New("a token lifetime needs service account impersonation"),
			"set the service account, or drop the lifetime: federated tokens have a fixed lifetime")
	case d < MinTokenLifetime || d > MaxTokenLifetime:
		return invalid(fmt.Errorf("token lifetime %s is outside %s..%s", d, MinTokenLifetime, MaxTokenLifetime),
			"lifetimes above 1h also need the org policy constraints/iam.allowServiceAccountCredentialLifetimeExtension")
	case d%time.Second != 0:
		return invalid(fmt.Errorf("token lifetime %s is not a whole number of seconds", d), "use whole seconds")
	}
	return nil
}

// validateCommand enforces what Google's libraries assume: the command line
// is split with strings.Fields (no quoting, no shell) and its first word must
// be an absolute path.
func validateCommand(argv []string) error {
	if len(argv) == 0 || argv[0] == "" {
		return invalid(errors.New("the executable command is empty"), "give the absolute path of dagster-oidc and its arguments")
	}
	if !filepath.IsAbs(argv[0]) {
		return invalid(fmt.Errorf("the executable %q is not an absolute path", argv[0]),
			"Google's client libraries require an absolute path: use the output of `command -v dagster-oidc`")
	}
	for i, arg := range argv {
		switch {
		case arg == "":
			return invalid(fmt.Errorf("argument %d of the executable command is empty", i),
				"Google's client libraries split the command on whitespace, so an empty argument would vanish")
		case strings.IndexFunc(arg, unicode.IsSpace) >= 0 && i == 0:
			return invalid(fmt.Errorf("the executable path %q contains whitespace, which Google's client libraries split on (no quoting)", arg),
				fmt.Sprintf("link it to a path without spaces, e.g. ln -s %q /usr/local/bin/dagster-oidc, and use that path", arg))
		case strings.IndexFunc(arg, unicode.IsSpace) >= 0:
			return invalid(fmt.Errorf("argument %q of the executable command contains whitespace, which Google's client libraries split on (no quoting)", arg),
				"use values without spaces: rename the profile, or move the file to a path without spaces (a symlink works)")
		}
	}
	return nil
}

// invalid marks a validation failure as a usage error with a hint.
func invalid(err error, hint string) error {
	return apperr.Usage(fmt.Errorf("invalid gcp credential configuration: %w", err), hint)
}
