package flow

import (
	"fmt"
	"os"
	"strings"
)

// gcpProductNamePath holds the DMI product name, "Google" or "Google Compute
// Engine" on GCE and GKE nodes.
const gcpProductNamePath = "/sys/class/dmi/id/product_name"

// Candidate is one workload source as ambient detection saw it.
type Candidate struct {
	// Name is the source's name.
	Name string
	// Available reports whether the source's platform was detected.
	Available bool
	// Reason is the evidence for Available, e.g.
	// "AWS_WEB_IDENTITY_TOKEN_FILE=/path is set" or
	// "ACTIONS_ID_TOKEN_REQUEST_URL is not set". It never holds a token.
	Reason string
}

// Detection is the outcome of DetectAmbient.
type Detection struct {
	// Chosen is the first available source in order, "" when none is.
	Chosen string
	// Candidates lists every detectable source in detection order.
	Candidates []Candidate
}

// DetectAmbient finds the workload source of the environment, trying them in
// registry order (see sources). It is cheap: it looks at variables,
// stats files and reads the DMI product name, and never uses the network.
// stat defaults to os.Stat; o.ReadFile reads the product name.
func DetectAmbient(o WorkloadOptions, stat func(string) (os.FileInfo, error)) Detection {
	o = o.withDefaults()
	if stat == nil {
		stat = os.Stat
	}
	var d Detection
	for _, s := range sources {
		if s.Detect == nil {
			continue
		}
		name := s.Name
		c := s.Detect(o, stat)
		c.Name = name
		if c.Available && d.Chosen == "" {
			d.Chosen = name
		}
		d.Candidates = append(d.Candidates, c)
	}
	return d
}

// Explain returns one line per candidate for `status` and `explain`: the one
// chosen and why, and why each other one was not.
func (d Detection) Explain() []string {
	lines := make([]string, 0, len(d.Candidates)+1)
	if d.Chosen == "" {
		lines = append(lines, "no workload identity source detected")
	}
	for _, c := range d.Candidates {
		switch {
		case c.Name == d.Chosen:
			lines = append(lines, fmt.Sprintf("%s: chosen: %s", c.Name, c.Reason))
		case c.Available:
			lines = append(lines, fmt.Sprintf("%s: not chosen: %s, but %s comes first", c.Name, c.Reason, d.Chosen))
		default:
			lines = append(lines, fmt.Sprintf("%s: not available: %s", c.Name, c.Reason))
		}
	}
	return lines
}

// detectGitHub needs both request variables; GITHUB_ACTIONS without them means
// the job lacks the id-token permission, which the reason says.
func detectGitHub(o WorkloadOptions) Candidate {
	_, okURL := o.lookup(envGitHubRequestURL)
	_, okToken := o.lookup(envGitHubRequestToken)
	switch {
	case okURL && okToken:
		return Candidate{Available: true, Reason: envGitHubRequestURL + " and " + envGitHubRequestToken + " are set"}
	case okURL:
		return Candidate{Reason: envGitHubRequestURL + " is set but " + envGitHubRequestToken + " is not"}
	}
	if _, ok := o.lookup(envGitHubActions); ok {
		return Candidate{Reason: envGitHubActions + " is set but " + envGitHubRequestURL + " is not: the job needs `permissions: id-token: write`"}
	}
	return Candidate{Reason: envGitHubRequestURL + " is not set"}
}

// detectGitLab needs GITLAB_CI and the configured ID token variable.
func detectGitLab(o WorkloadOptions) Candidate {
	v := o.EnvVar
	if v == "" {
		v = DefaultGitLabTokenVariable
	}
	if _, ok := o.lookup(envGitLabCI); !ok {
		return Candidate{Reason: envGitLabCI + " is not set"}
	}
	if _, ok := o.lookup(v); !ok {
		return Candidate{Reason: envGitLabCI + " is set but " + v + " is not: declare it under id_tokens in .gitlab-ci.yml"}
	}
	return Candidate{Available: true, Reason: envGitLabCI + " and " + v + " are set"}
}

// detectTokenFileVar is available when the variable is set: the platform
// asked for this source, so a missing file is reported when the token is read
// rather than silently skipped for another identity.
func detectTokenFileVar(o WorkloadOptions, stat func(string) (os.FileInfo, error), name, envVar string) Candidate {
	path, ok := o.lookup(envVar)
	if !ok {
		return Candidate{Reason: envVar + " is not set"}
	}
	reason := fmt.Sprintf("%s=%s is set", envVar, path)
	if _, err := stat(path); err != nil {
		reason += fmt.Sprintf(" (but the file cannot be read: %v)", err)
	}
	return Candidate{Available: true, Reason: reason}
}

// detectKubernetes is available when the token file exists.
func detectKubernetes(o WorkloadOptions, stat func(string) (os.FileInfo, error)) Candidate {
	path := o.Path
	if path == "" {
		path = DefaultKubernetesTokenPath
	}
	fi, err := stat(path)
	switch {
	case err != nil:
		return Candidate{Reason: "no service-account token at " + path}
	case fi.IsDir():
		return Candidate{Reason: path + " is a directory"}
	}
	return Candidate{Available: true, Reason: "service-account token " + path + " exists"}
}

// detectGCP is available when GCE_METADATA_HOST is set or the DMI product
// name says Google; it does not probe the server.
func detectGCP(o WorkloadOptions) Candidate {
	if v, ok := o.lookup(envGCEMetadataHost); ok {
		return Candidate{Available: true, Reason: envGCEMetadataHost + "=" + v + " is set"}
	}
	data, err := o.ReadFile(gcpProductNamePath)
	if err != nil {
		return Candidate{Reason: envGCEMetadataHost + " is not set and " + gcpProductNamePath + " cannot be read"}
	}
	product := strings.TrimSpace(string(data))
	if len(product) > 64 {
		product = product[:64]
	}
	switch product {
	case "Google", "Google Compute Engine":
		return Candidate{Available: true, Reason: fmt.Sprintf("%s says %q", gcpProductNamePath, product)}
	default:
		return Candidate{Reason: fmt.Sprintf("%s is not set and %s says %q", envGCEMetadataHost, gcpProductNamePath, product)}
	}
}
