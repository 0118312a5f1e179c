package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/dagster-oidc/dagster-oidc/internal/exchange/awssts"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/ident"
	"github.com/dagster-oidc/dagster-oidc/internal/readfile"
	"github.com/dagster-oidc/dagster-oidc/internal/safehttp"
)

// MaxFileSize caps how much of a config file is read.
const MaxFileSize = 1 << 20

// Error is a configuration problem at a place in the file.
type Error struct {
	Path string
	Line int    // 0 when unknown
	Key  string // dotted key, e.g. profiles.dev.client_id
	Msg  string
}

// Error formats as "path:line: key: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrNotExist is returned by Load when the file does not exist.
var ErrNotExist = errors.New("config file does not exist")

// Load reads and validates the profiles file at path. A path that is not a
// regular file (a named pipe, a device) is refused without waiting on it.
func Load(path string) (*File, error) {
	data, err := readfile.Regular(path, MaxFileSize)
	if err != nil {
		var nr *readfile.NotRegularError
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("%s: %w", path, ErrNotExist)
		case errors.As(err, &nr):
			return nil, &Error{Path: path, Msg: "not a regular file; the profiles file must be a plain YAML file"}
		case errors.Is(err, readfile.ErrTooLarge):
			return nil, &Error{Path: path, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize)}
		}
		return nil, fmt.Errorf("could not read config %s: %w", path, err)
	}
	return Parse(path, data)
}

var yamlLineRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^line (\d+): (.*)$`) })

// Parse decodes and validates a profiles file held in memory; path is used in
// error messages only.
func Parse(path string, data []byte) (*File, error) {
	cfg := &File{Path: path, data: data}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Path: path, Line: 1, Msg: "file is empty; run: dagster-oidc config init --issuer URL --client-id ID"}
		}
		return nil, yamlError(path, err)
	}
	for name, p := range cfg.Profiles {
		if p == nil {
			return nil, &Error{Path: path, Line: cfg.line("profiles." + name), Key: "profiles." + name, Msg: "profile is empty"}
		}
		p.Name = name
		p.applyDefaults()
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// yamlError turns a yaml.v3 error into one or more file:line errors.
func yamlError(path string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		errs := make([]error, 0, len(te.Errors))
		for _, msg := range te.Errors {
			errs = append(errs, lineError(path, msg))
		}
		return errors.Join(errs...)
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	return lineError(path, msg)
}

func lineError(path, msg string) error {
	if m := yamlLineRE().FindStringSubmatch(msg); m != nil {
		var line int
		fmt.Sscanf(m[1], "%d", &line)
		msg = m[2]
		msg = strings.Replace(msg, "not found in type", "is not a known key in", 1)
		msg = typeNameRE().ReplaceAllString(msg, "$1")
		return &Error{Path: path, Line: line, Msg: msg}
	}
	return &Error{Path: path, Msg: msg}
}

var typeNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`config\.(\w+)`) })

// indexLines records the line of every mapping key under a dotted path.
func indexLines(n *yaml.Node, prefix string, out map[string]int) {
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.SequenceNode {
			for i, c := range n.Content {
				key := fmt.Sprintf("%s[%d]", prefix, i)
				out[key] = c.Line
				indexLines(c, key, out)
			}
		}
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if prefix != "" {
			key = prefix + "." + k.Value
		}
		out[key] = k.Line
		indexLines(v, key, out)
	}
}

// line returns the line of a dotted key. The file is indexed only when a
// line is asked for (an error to report), keeping the happy path to one parse.
func (f *File) line(key string) int {
	if f.lines == nil {
		f.lines = map[string]int{}
		var root yaml.Node
		if yaml.Unmarshal(f.data, &root) == nil && len(root.Content) > 0 {
			indexLines(root.Content[0], "", f.lines)
		}
	}
	for key != "" {
		if l, ok := f.lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

func (f *File) errorf(key, format string, args ...any) error {
	return &Error{Path: f.Path, Line: f.line(key), Key: key, Msg: fmt.Sprintf(format, args...)}
}

func (p *Profile) applyDefaults() {
	if p.Environment == "" {
		p.Environment = p.Name
	}
	if len(p.Scopes) == 0 {
		p.Scopes = []string{"openid", "email", "profile", "offline_access"}
	}
	if p.Flow == "" {
		p.Flow = "auto"
	}
	if p.Cache == "" {
		p.Cache = "auto"
	}
	if p.Verify == "" {
		p.Verify = "required"
		if s, ok := flow.LookupSource(p.Flow); ok {
			p.Verify = string(s.DefaultVerify)
		}
	}
	if p.ClockSkew == 0 {
		p.ClockSkew = Duration(DefaultClockSkew)
	}
	if p.ClientSecretMaxAge == 0 {
		p.ClientSecretMaxAge = Duration(DefaultClientSecretMaxAge)
	}
	if p.RefreshMargin == 0 {
		p.RefreshMargin = Duration(DefaultRefreshMargin)
	}
	if p.Browser.Host == "" {
		p.Browser.Host = "127.0.0.1"
	}
	if p.Browser.Path == "" {
		p.Browser.Path = "/callback"
	}
	if p.Browser.Timeout == 0 {
		p.Browser.Timeout = Duration(DefaultBrowserTimeout)
	}
	if p.Proxy != nil {
		p.Proxy.applyDefaults()
	}
	if p.AWS != nil {
		if p.AWS.Duration == 0 {
			p.AWS.Duration = Duration(DefaultAWSDuration)
		}
		if p.AWS.RefreshMargin == 0 {
			p.AWS.RefreshMargin = Duration(DefaultAWSRefreshMargin)
		}
	}
}

func (f *File) validate() error {
	if len(f.Profiles) == 0 {
		return f.errorf("profiles", "no profiles defined")
	}
	if f.DefaultProfile != "" {
		if _, ok := f.Profiles[f.DefaultProfile]; !ok {
			return f.errorf("default_profile", "profile %q is not defined (defined: %s)", f.DefaultProfile, strings.Join(f.ProfileNames(), ", "))
		}
	}
	var errs []error
	switch a := f.Audit; {
	case a.CheckpointEvery < 0:
		errs = append(errs, f.errorf("audit.checkpoint_every", "must be 0 (no checkpoints) or a number of lines"))
	case a.CheckpointEvery > 0 && a.Syslog == "":
		errs = append(errs, f.errorf("audit.checkpoint_every", "needs audit.syslog: checkpoints go to the syslog collector"))
	}
	for _, name := range f.ProfileNames() {
		errs = append(errs, f.validateProfile(f.Profiles[name])...)
	}
	return errors.Join(errs...)
}

func (f *File) validateProfile(p *Profile) []error {
	k := "profiles." + p.Name
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, f.errorf(key, format, args...)) }
	workload := flow.IsWorkload(p.Flow)
	if !ident.Valid(p.Name) { // part of cache file names and keyring items, so never a path
		add(k, "profile name %q must be letters, digits, '.', '_' or '-' (it names cache files), at most 64 characters", p.Name)
	}
	for key, v := range p.plainStrings() {
		if i := strings.IndexFunc(v, unicode.IsControl); i >= 0 {
			add(k+"."+key, "contains the control character %U; remove it", []rune(v[i:])[0])
		}
	}
	if p.Issuer == "" && !(workload && p.Verify == "off") {
		add(k+".issuer", "required: the OpenID issuer URL, e.g. https://id.example.com")
	} else if p.Issuer != "" {
		if u, err := url.Parse(p.Issuer); err != nil || u.Host == "" || !safehttp.Secure(u) {
			add(k+".issuer", "must be an https URL (http only for 127.0.0.1/localhost), got %q", p.Issuer)
		} else if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			add(k+".issuer", "an issuer URL has no query, fragment or user info (OpenID Connect Discovery §2), got %q", p.Issuer)
		}
	}
	for _, d := range p.durations() {
		if d.set && (d.v < d.min || d.v > d.max) {
			add(k+"."+d.key, "%s is outside %s..%s", d.v, d.min, d.max)
		}
	}
	if workload && p.Workload.Audience == "" && p.ExpectedAudience() == "" {
		add(k+".workload.audience", "required for the %s flow (or audience, or client_id): every token's aud is checked against it", p.Flow)
	}
	if p.ClientID == "" && (p.Flow == "device" || p.Flow == "browser") {
		add(k+".client_id", "required for the %s flow", p.Flow)
	}
	if p.ClientSecretEnv != "" && p.ClientSecretFile != "" {
		add(k+".client_secret_env", "set client_secret_env or client_secret_file, not both")
	}
	if err := flow.CheckFlow(p.Flow); err != nil {
		add(k+".flow", "%v", err)
	}
	if !contains(CacheModes, p.Cache) {
		add(k+".cache", "unknown cache %q (one of %s)", p.Cache, strings.Join(CacheModes, ", "))
	}
	if !contains(flow.VerifyModes(), p.Verify) {
		add(k+".verify", "unknown verify mode %q (one of %s)", p.Verify, strings.Join(flow.VerifyModes(), ", "))
	}
	if p.Verify != "required" && !workload && p.Verify != "when-reachable" {
		add(k+".verify", "verify: %s is only allowed for workload flows; tokens from human logins are always verified", p.Verify)
	}
	if p.Browser.Host != "127.0.0.1" && p.Browser.Host != "[::1]" && p.Browser.Host != "localhost" {
		add(k+".browser.host", "must be 127.0.0.1, [::1] or localhost (RFC 8252 loopback redirect), got %q", p.Browser.Host)
	}
	if p.Browser.Port < 0 || p.Browser.Port > 65535 {
		add(k+".browser.port", "must be 0 (random) or 1-65535")
	}
	if !strings.HasPrefix(p.Browser.Path, "/") {
		add(k+".browser.path", "must start with /")
	}
	if p.Flow == "gitlab" && p.Workload.EnvVar == "" {
		add(k+".workload.env_var", "required for the gitlab flow: the variable named in id_tokens of .gitlab-ci.yml")
	}
	if p.Flow == "file" && p.Workload.Path == "" {
		add(k+".workload.path", "required for the file flow")
	}
	endpoint := func(key, raw string) {
		if raw != "" {
			if err := safehttp.CheckURL(raw); err != nil {
				add(key, "%v", err)
			}
		}
	}
	if a := p.AWS; a != nil {
		if a.Region == "" && a.STSEndpoint == "" {
			add(k+".aws.region", "required (e.g. us-east-1)")
		} else if err := awssts.CheckRegion(a.Region); err != nil {
			add(k+".aws.region", "%v", err)
		}
		if a.STSEndpoint != "" {
			if err := awssts.CheckEndpoint(a.STSEndpoint); err != nil {
				add(k+".aws.sts_endpoint", "%v", err)
			}
		}
		if err := awssts.ValidateDuration(a.Duration.D(), a.RefreshMargin.D()); err != nil {
			key := k + ".aws.duration"
			if a.RefreshMargin.D() < 0 && awssts.ValidateDuration(a.Duration.D(), 0) == nil {
				key = k + ".aws.refresh_margin" // the duration is fine: the margin is what is wrong
			}
			add(key, "%v", err)
		}
		if err := awssts.CheckSessionNameTemplate(a.SessionName); err != nil {
			add(k+".aws.session_name", "%v", err)
		}
		if len(a.Roles) == 0 {
			add(k+".aws.roles", "at least one role is required")
		}
		if t := a.STSTimeout.D(); t != 0 && (t < MinSTSTimeout || t > MaxSTSTimeout) {
			add(k+".aws.sts_timeout", "must be between %s and %s, got %s", MinSTSTimeout, MaxSTSTimeout, t)
		}
		for i, r := range a.Roles {
			rk := fmt.Sprintf("%s.aws.roles[%d]", k, i)
			if r.RoleARN == "" && !r.Deny {
				add(rk+".role_arn", "required")
			} else if r.RoleARN != "" {
				if err := awssts.CheckRoleARN(r.RoleARN); err != nil {
					add(rk+".role_arn", "%v", err)
				}
			}
		}
	}
	if g := p.GCP; g != nil {
		endpoint(k+".gcp.token_url", g.TokenURL)
		endpoint(k+".gcp.impersonation_url", g.ImpersonationURL)
		if g.Audience == "" {
			add(k+".gcp.audience", "required: //iam.googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER")
		}
		for i, r := range g.ServiceAccounts {
			if r.ServiceAccount == "" && !r.Deny {
				add(fmt.Sprintf("%s.gcp.service_accounts[%d].service_account", k, i), "required")
			}
		}
	}
	return append(errs, f.validateProxy(p)...)
}

// plainStrings are the profile's one-line values by key: none of them may
// hold a control character (a NUL in a client id, a newline in an issuer).
func (p *Profile) plainStrings() map[string]string {
	m := map[string]string{
		"environment": p.Environment, "issuer": p.Issuer, "client_id": p.ClientID,
		"client_secret_env": p.ClientSecretEnv, "client_secret_file": p.ClientSecretFile,
		"audience": p.Audience, "workload.path": p.Workload.Path, "workload.audience": p.Workload.Audience,
		"workload.env_var": p.Workload.EnvVar,
	}
	for i, s := range p.Scopes {
		m[fmt.Sprintf("scopes[%d]", i)] = s
	}
	if a := p.AWS; a != nil {
		m["aws.region"], m["aws.sts_endpoint"], m["aws.session_name"] = a.Region, a.STSEndpoint, a.SessionName
		for i, r := range a.Roles {
			m[fmt.Sprintf("aws.roles[%d].role_arn", i)] = r.RoleARN
		}
	}
	if g := p.GCP; g != nil {
		m["gcp.audience"], m["gcp.service_account"] = g.Audience, g.ServiceAccount
		for i, r := range g.ServiceAccounts {
			m[fmt.Sprintf("gcp.service_accounts[%d].service_account", i)] = r.ServiceAccount
		}
	}
	return m
}

// durationCheck is one duration of a profile and its allowed range.
type durationCheck struct {
	key      string
	v        time.Duration
	min, max time.Duration
	set      bool
}

// durations lists the profile's durations with their ranges (after
// defaults; zero means unset). AWS durations are checked together with
// their margin by awssts.ValidateDuration.
func (p *Profile) durations() []durationCheck {
	ds := []durationCheck{
		{key: "clock_skew", v: p.ClockSkew.D(), min: 0, max: MaxClockSkew, set: true},
		{key: "client_secret_max_age", v: p.ClientSecretMaxAge.D(), min: time.Hour, max: 10 * 365 * 24 * time.Hour, set: true},
		{key: "refresh_margin", v: p.RefreshMargin.D(), min: time.Second, max: MaxRefreshMargin, set: true},
		{key: "browser.timeout", v: p.Browser.Timeout.D(), min: 10 * time.Second, max: time.Hour, set: true},
	}
	if p.GCP != nil {
		ds = append(ds, durationCheck{key: "gcp.lifetime", v: p.GCP.Lifetime.D(), min: time.Second, max: 12 * time.Hour, set: p.GCP.Lifetime != 0})
	}
	return ds
}

// ProfileNames returns the defined profile names, sorted.
func (f *File) ProfileNames() []string {
	names := make([]string, 0, len(f.Profiles))
	for n := range f.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Profile selects a profile by name; "" means the default profile, or the only
// one when there is exactly one.
func (f *File) Profile(name string) (*Profile, error) {
	if name == "" {
		name = f.DefaultProfile
	}
	if name == "" {
		if len(f.Profiles) == 1 {
			for _, p := range f.Profiles {
				return p, nil
			}
		}
		return nil, fmt.Errorf("%s defines several profiles and no default_profile; pass --profile (one of %s)", f.Path, strings.Join(f.ProfileNames(), ", "))
	}
	p, ok := f.Profiles[name]
	if !ok {
		return nil, fmt.Errorf("profile %q is not defined in %s (defined: %s)", name, f.Path, strings.Join(f.ProfileNames(), ", "))
	}
	return p, nil
}

// Line returns the line of a dotted key, for messages about it (0 if unknown).
func (f *File) Line(key string) int { return f.line(key) }

// Data is the file's content as it was loaded and validated.
func (f *File) Data() []byte { return f.data }
