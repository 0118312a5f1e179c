package flow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

// Names of the human login flows, as written in `flow:` and --flow.
const (
	SourceDevice  = "device"
	SourceBrowser = "browser"
	// Auto is the `flow:` value that picks a source: a detected workload
	// identity, else a human flow.
	Auto = "auto"
)

// SourceInfo describes one token source: everything config validation,
// --flow, `flow: auto`, `status` and the docs need to know about it.
type SourceInfo struct {
	// Name is the source's `flow:` value.
	Name string
	// Workload is true for a platform's identity (never interactive, never
	// stored) and false for a human login.
	Workload bool
	// Detect reports whether the source's platform is present, without the
	// network; nil for sources `flow: auto` never picks (human flows and
	// file, which needs a configured path). Registry order is detection order.
	Detect func(o WorkloadOptions, stat func(string) (os.FileInfo, error)) Candidate
	// NewWorkload builds a workload source (nil for human sources).
	NewWorkload func(o WorkloadOptions) (Source, error)
	// NewHuman builds a human login (nil for workload sources).
	NewHuman func(o HumanOptions) Source
	// DefaultVerify is the verification mode of a profile that sets none.
	DefaultVerify VerifyMode
}

// HumanOptions configures an interactive login (device code or browser).
type HumanOptions struct {
	ClientID     string
	ClientSecret string
	Scopes       []string
	// Metadata is the issuer's discovery document.
	Metadata *Metadata
	HTTP     *http.Client
	// Prompt receives the instructions for the person (stderr, never stdout).
	Prompt io.Writer
	// QR shows the device code's URL as a QR code too.
	QR    bool
	Clock clock.Clock
	Sleep func(context.Context, time.Duration) error
	// Browser settings of the authorization code flow's loopback redirect.
	Host    string
	Port    int
	Path    string
	Timeout time.Duration
	// Open opens a URL in a browser; nil prints it only.
	Open func(url string) error
	// Verify checks the ID token and its nonce before the login completes.
	Verify func(ctx context.Context, raw, nonce string) error
}

// sources is the registry. Workload sources come in the order `flow: auto`
// tries them; the most specific evidence wins:
//   - CI job identities first: a self-hosted GitHub or GitLab runner often runs
//     in a Kubernetes pod or on a GCE VM, and the job (repository, branch,
//     workflow) is the identity the user means, not the machine's;
//   - then token files a platform injected on purpose through a variable (EKS
//     IRSA, Azure workload identity), which a pod has besides its default
//     service-account token;
//   - then the pod's own service-account token, a local file;
//   - last the GCP metadata server, the node's identity, shared by every pod
//     on it without Workload Identity.
//
// The file source is never detected: it needs a configured path.
var sources = []SourceInfo{
	{Name: SourceDevice, NewHuman: newDevice, DefaultVerify: VerifyRequired},
	{Name: SourceBrowser, NewHuman: newBrowser, DefaultVerify: VerifyRequired},
	{Name: SourceGitHubActions, Workload: true, DefaultVerify: VerifyRequired,
		Detect:      func(o WorkloadOptions, _ func(string) (os.FileInfo, error)) Candidate { return detectGitHub(o) },
		NewWorkload: func(o WorkloadOptions) (Source, error) { return &gitHubSource{o: o}, nil }},
	{Name: SourceGitLab, Workload: true, DefaultVerify: VerifyRequired,
		Detect: func(o WorkloadOptions, _ func(string) (os.FileInfo, error)) Candidate { return detectGitLab(o) },
		NewWorkload: func(o WorkloadOptions) (Source, error) {
			v := o.EnvVar
			if v == "" {
				v = DefaultGitLabTokenVariable
			}
			return &gitLabSource{envVar: v, o: o}, nil
		}},
	{Name: SourceWebIdentityFile, Workload: true, DefaultVerify: VerifyRequired,
		Detect: func(o WorkloadOptions, stat func(string) (os.FileInfo, error)) Candidate {
			return detectTokenFileVar(o, stat, SourceWebIdentityFile, envAWSWebIdentityTokenFile)
		},
		NewWorkload: func(o WorkloadOptions) (Source, error) {
			return &fileSource{name: SourceWebIdentityFile, envVar: envAWSWebIdentityTokenFile, path: o.Path, o: o}, nil
		}},
	{Name: SourceAzureFile, Workload: true, DefaultVerify: VerifyRequired,
		Detect: func(o WorkloadOptions, stat func(string) (os.FileInfo, error)) Candidate {
			return detectTokenFileVar(o, stat, SourceAzureFile, envAzureFederatedTokenFile)
		},
		NewWorkload: func(o WorkloadOptions) (Source, error) {
			return &fileSource{name: SourceAzureFile, envVar: envAzureFederatedTokenFile, path: o.Path, o: o}, nil
		}},
	{Name: SourceKubernetes, Workload: true, DefaultVerify: VerifyRequired,
		Detect: detectKubernetes,
		NewWorkload: func(o WorkloadOptions) (Source, error) {
			path := o.Path
			if path == "" {
				path = DefaultKubernetesTokenPath
			}
			return &fileSource{name: SourceKubernetes, path: path, o: o}, nil
		}},
	{Name: SourceGCPMetadata, Workload: true, DefaultVerify: VerifyRequired,
		Detect: func(o WorkloadOptions, _ func(string) (os.FileInfo, error)) Candidate { return detectGCP(o) },
		NewWorkload: func(o WorkloadOptions) (Source, error) {
			if o.Audience == "" {
				return nil, apperr.Usage(ErrNoAudience, "")
			}
			return &gcpMetadataSource{o: o}, nil
		}},
	{Name: SourceFile, Workload: true, DefaultVerify: VerifyRequired,
		NewWorkload: func(o WorkloadOptions) (Source, error) {
			if o.Path == "" {
				return nil, apperr.Usage(ErrNoTokenPath, "")
			}
			return &fileSource{name: SourceFile, path: o.Path, o: o}, nil
		}},
}

// ErrNoAudience is NewWorkloadSource's usage error for gcp-metadata without
// an audience to ask the metadata server for.
var ErrNoAudience = errors.New("the gcp-metadata workload source needs an audience")

// ErrNoTokenPath is NewWorkloadSource's usage error for the file source
// without a path.
var ErrNoTokenPath = errors.New("the file workload source needs a token path")

// Sources returns the registry in order: human flows, then workload sources
// in detection order, file last.
func Sources() []SourceInfo { return append([]SourceInfo(nil), sources...) }

// LookupSource returns the registry entry of name.
func LookupSource(name string) (SourceInfo, bool) {
	for _, s := range sources {
		if s.Name == name {
			return s, true
		}
	}
	return SourceInfo{}, false
}

// FlowNames returns every value `flow:` and --flow accept: auto, then the
// registry's names in order.
func FlowNames() []string {
	names := []string{Auto}
	for _, s := range sources {
		names = append(names, s.Name)
	}
	return names
}

// CheckFlow returns an error naming the accepted values when name is not one.
func CheckFlow(name string) error {
	if name == Auto {
		return nil
	}
	if _, ok := LookupSource(name); ok {
		return nil
	}
	return fmt.Errorf("unknown flow %q (one of %s)", name, strings.Join(FlowNames(), ", "))
}

// WorkloadSourceNames returns the names of the workload sources, in ambient
// detection order followed by file, which is never detected.
func WorkloadSourceNames() []string {
	var names []string
	for _, s := range sources {
		if s.Workload {
			names = append(names, s.Name)
		}
	}
	return names
}

// IsWorkload reports whether name (a `flow:` value, a Source's Name or a
// Token's Source) is a workload identity source. Tokens from such sources
// MUST NOT be stored: they are read from the platform at every use.
func IsWorkload(name string) bool {
	s, ok := LookupSource(name)
	return ok && s.Workload
}

// NewWorkloadSource returns the workload identity source called name. It
// fails with a usage error for an unknown name or a missing required option.
func NewWorkloadSource(name string, o WorkloadOptions) (Source, error) {
	s, ok := LookupSource(name)
	if !ok || !s.Workload {
		return nil, apperr.Usage(fmt.Errorf("unknown workload source %q (want one of: %s)", name, strings.Join(WorkloadSourceNames(), ", ")), "")
	}
	return s.NewWorkload(o.withDefaults())
}

// NewHumanSource returns the interactive login called name (device or browser).
func NewHumanSource(name string, o HumanOptions) (Source, error) {
	s, ok := LookupSource(name)
	if !ok || s.Workload {
		return nil, apperr.Usage(fmt.Errorf("unknown flow %q (one of %s)", name, SourceDevice+", "+SourceBrowser), "")
	}
	return s.NewHuman(o), nil
}

func newDevice(o HumanOptions) Source {
	return &DeviceFlow{
		ClientID: o.ClientID, ClientSecret: o.ClientSecret, Scopes: o.Scopes,
		DeviceAuthURL: o.Metadata.DeviceAuthURL, TokenURL: o.Metadata.TokenURL, HTTP: o.HTTP, Issuer: o.Metadata.Issuer,
		Prompt: o.Prompt, QR: o.QR, Clock: o.Clock, Sleep: o.Sleep,
	}
}

func newBrowser(o HumanOptions) Source {
	return &BrowserFlow{
		ClientID: o.ClientID, ClientSecret: o.ClientSecret, Scopes: o.Scopes,
		AuthURL: o.Metadata.AuthURL, TokenURL: o.Metadata.TokenURL, HTTP: o.HTTP,
		Host: o.Host, Port: o.Port, Path: o.Path, Timeout: o.Timeout,
		Open: o.Open, Prompt: o.Prompt, Verify: o.Verify,
		Issuer: o.Metadata.Issuer, RequireIss: o.Metadata.IssParameterSupported,
	}
}
