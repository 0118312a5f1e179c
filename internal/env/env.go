// Package env declares every DAGSTER_OIDC_ environment variable in one
// registry. Variables of other ecosystems (AWS_WEB_IDENTITY_TOKEN_FILE,
// ACTIONS_ID_TOKEN_REQUEST_URL, ...) are read only by the source that owns
// them, through the same injected lookup function.
package env

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Variable is a registered DAGSTER_OIDC_ environment variable.
type Variable string

// The registry's variables.
const (
	Config    Variable = "DAGSTER_OIDC_CONFIG"
	Profile   Variable = "DAGSTER_OIDC_PROFILE"
	CacheDir  Variable = "DAGSTER_OIDC_CACHE_DIR"
	StateDir  Variable = "DAGSTER_OIDC_STATE_DIR"
	NoBrowser Variable = "DAGSTER_OIDC_NO_BROWSER"
	Verbose   Variable = "DAGSTER_OIDC_VERBOSE"
	// HTTPTimeout bounds every request to the IdP, STS and GCP.
	HTTPTimeout Variable = "DAGSTER_OIDC_HTTP_TIMEOUT"
	// WarmRecord is set by the warm front when it runs the full binary.
	WarmRecord Variable = "DAGSTER_OIDC_WARM_RECORD"
)

// Options describes a variable.
type Options struct {
	Description string
	Sensitive   bool
	// Duration, when set, makes the variable a duration in that range.
	Duration *DurationRange
}

// DurationRange is the default and the allowed range of a duration variable.
type DurationRange struct {
	Default, Min, Max time.Duration
}

// Registry lists every variable dagster-oidc reads under its own prefix.
var Registry = map[Variable]Options{
	Config:    {Description: "path of the profiles file (default $XDG_CONFIG_HOME/dagster-oidc/config.yaml)"},
	Profile:   {Description: "profile to use when --profile is not given"},
	CacheDir:  {Description: "directory of the file cache, locks and discovery cache (default $XDG_CACHE_HOME/dagster-oidc)"},
	StateDir:  {Description: "directory of the audit log and other state (default $XDG_STATE_HOME/dagster-oidc)"},
	NoBrowser: {Description: "set to 1 to never open a browser; the URL is printed instead"},
	Verbose:   {Description: "set to 1 for debug logs on stderr (tokens are always redacted)"},
	HTTPTimeout: {Description: "timeout of each request to the IdP, STS or GCP, e.g. 10s (default 30s, 1s to 10m)",
		Duration: &DurationRange{Default: 30 * time.Second, Min: time.Second, Max: 10 * time.Minute}},
	WarmRecord: {Description: "set to 1 by dagster-oidc-cached when it runs dagster-oidc for a call it could not answer: save a record so that it answers the next such call itself (the variable is not part of the call)"},
}

// Lookup is an injected environment lookup, os.LookupEnv in production.
type Lookup func(string) (string, bool)

// Get returns a registered variable's value; it panics on an unregistered
// name, which is a programming error caught by tests.
func (l Lookup) Get(v Variable) string {
	if _, ok := Registry[v]; !ok || !strings.HasPrefix(string(v), "DAGSTER_OIDC_") {
		panic(fmt.Sprintf("env: %s is not registered", v))
	}
	s, _ := l(string(v))
	return s
}

// Duration returns a duration variable's value, its default when unset or
// empty, or an error naming the variable when the value is not a duration
// in its range.
func (l Lookup) Duration(v Variable) (time.Duration, error) {
	r := Registry[v].Duration
	if r == nil {
		panic(fmt.Sprintf("env: %s is not a duration variable", v))
	}
	s := l.Get(v)
	if s == "" {
		return r.Default, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s=%q is not a duration (use e.g. 10s, 1m)", v, s)
	}
	if d < r.Min || d > r.Max {
		return 0, fmt.Errorf("%s=%s is outside %s..%s", v, s, r.Min, r.Max)
	}
	return d, nil
}

// Check validates every set duration variable and returns the first
// problem, by variable name.
func (l Lookup) Check() error {
	names := make([]string, 0, len(Registry))
	for v, o := range Registry {
		if o.Duration != nil {
			names = append(names, string(v))
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := l.Duration(Variable(n)); err != nil {
			return err
		}
	}
	return nil
}
