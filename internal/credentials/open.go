package credentials

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/debuglog"
	"github.com/dagster-oidc/dagster-oidc/internal/env"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/awssts"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/gcpsts"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/secretfile"
	"github.com/dagster-oidc/dagster-oidc/internal/session"
)

// lockWait bounds how long a process waits for another one's refresh or login.
const lockWait = 2 * time.Minute

// Deps are the side effects a profile's use cases need: main passes the
// real ones, tests fakes.
type Deps struct {
	Env   env.Lookup
	Clock clock.Clock
	HTTP  *http.Client
	// Keyring is the OS keyring; KeyringTimeout bounds each call.
	Keyring        cache.Keyring
	KeyringTimeout time.Duration
	// CacheDir holds the file store, locks and discovery cache; StateDir
	// and Home place the audit trail.
	CacheDir, StateDir, Home string
	Stat                     func(string) (os.FileInfo, error)
	// Sleep waits between polls and retries (clock.Sleep in production).
	Sleep func(context.Context, time.Duration) error
	// CanPrompt is true when a person can answer an interactive login;
	// HasDisplay reports whether a browser window could be shown.
	CanPrompt  bool
	HasDisplay func() bool
	// QR shows device-code URLs as QR codes too (stderr is a terminal).
	QR          bool
	OpenBrowser func(url string) error
	// Stderr receives prompts and warnings; never stdout.
	Stderr io.Writer
	// Debug receives the -v lines; nil is off.
	Debug *debuglog.Logger
}

// wiring is what Open builds beyond the ports: the profile's flow, its
// token use case and the audit trail.
type wiring struct {
	// secretAgeWarned: the stale client secret was already warned about.
	secretAgeWarned bool
	deps            Deps
	cfg             *config.File
	mgr             *session.Manager
	// secrets is the refresh-token store, selected on first use.
	secrets   *lazyStore
	flowName  string
	detection *flow.Detection
	discovery *flow.Discovery
	meta      *flow.Metadata
	pol       *flow.Policy
	trail     *trail
}

// Open builds the use cases of profile p of cfg; flowOverride is --flow.
// Nothing touches the network until a use case needs it.
func Open(d Deps, cfg *config.File, p *config.Profile, flowOverride string) (*Service, error) {
	if flowOverride != "" {
		if err := flow.CheckFlow(flowOverride); err != nil {
			return nil, apperr.Usage(fmt.Errorf("--flow: %w", err), "")
		}
		cp := *p
		cp.Flow = flowOverride
		p = &cp
	}
	if d.Sleep == nil {
		d.Sleep = clock.Sleep
	}
	// Debug lines follow the audit trail's rule for personal claims.
	d.Debug.AllowClaims(cfg.Audit.Claims)
	s := &Service{Profile: p, Clock: d.Clock, Warn: d.Stderr}
	w := &wiring{deps: d, cfg: cfg}
	s.w = w
	w.discovery = &flow.Discovery{Issuer: p.Issuer, HTTP: d.HTTP, Dir: d.CacheDir, Clock: d.Clock}
	s.resolveFlow()
	w.pol = s.policy()
	w.trail = &trail{cfg: cfg.Audit, deps: d, profile: p, flowName: w.flowName}
	s.Audit = w.trail
	s.build()
	return s, nil
}

// resolveFlow picks the flow for `auto`: an ambient workload source when one
// is detected, else a human flow.
func (s *Service) resolveFlow() {
	w := s.w
	w.flowName = s.Profile.Flow
	if w.flowName != flow.Auto {
		return
	}
	det := flow.DetectAmbient(s.workloadOptions(), w.deps.Stat)
	w.detection = &det
	switch {
	case det.Chosen != "":
		w.flowName = det.Chosen
	case w.deps.CanPrompt && w.deps.HasDisplay != nil && w.deps.HasDisplay():
		w.flowName = flow.SourceBrowser
	default:
		w.flowName = flow.SourceDevice
	}
}

func (s *Service) workloadOptions() flow.WorkloadOptions {
	p, d := s.Profile, s.w.deps
	aud := p.Workload.Audience
	if aud == "" {
		aud = p.ExpectedAudience()
	}
	return flow.WorkloadOptions{
		Path: p.Workload.Path, Audience: aud, EnvVar: p.Workload.EnvVar,
		HTTP: d.HTTP, Env: flow.Env(d.Env), Clock: d.Clock, Sleep: d.Sleep, Skew: p.ClockSkew.D(),
	}
}

// build wires the token use case, the stores and the exchangers.
func (s *Service) build() {
	p, w, d := s.Profile, s.w, s.w.deps
	dir := d.CacheDir
	var fast cache.Store = cache.FileStore{Dir: dir}
	switch p.Cache {
	case cache.ModeMemory:
		fast = &cache.MemoryStore{}
	case cache.ModeNone:
		fast = cache.NoneStore{}
	}
	mode := p.Cache
	if s.isWorkload() && (mode == cache.ModeAuto || mode == cache.ModeKeyring) {
		// Workload tokens are never written to the keyring.
		mode = cache.ModeFile
	}
	w.secrets = &lazyStore{sel: func() (cache.Store, string, error) {
		return cache.Select(mode, d.Keyring, dir, d.KeyringTimeout)
	}}
	w.mgr = &session.Manager{
		Profile: p.Name, Environment: p.Environment, Issuer: p.Issuer, ClientID: p.ClientID,
		Fast: fast, Secrets: w.secrets, LockDir: dir, LockWait: lockWait,
		Clock: d.Clock, Margin: p.RefreshMargin.D(), CanPrompt: d.CanPrompt, Warn: d.Stderr, Debug: d.Debug,
		Source:    s.source,
		Refresher: func(ctx context.Context) (session.Refresher, error) { return s.refresher(ctx) },
		Verify: func(ctx context.Context, source, raw string) (*flow.Verified, error) {
			return w.pol.Verify(ctx, source, raw, "")
		},
		Audience: s.audience(),
		Workload: s.isWorkload(),
		Observe: func(ev session.Event) {
			w.trail.Observe(Record{Event: ev.Name, Outcome: ev.Outcome, Source: ev.Source, Claims: ev.Claims, Expiry: ev.Expiry, Err: ev.Err, Unverified: ev.Unverified != ""})
		},
	}
	w.mgr.DerivedKeys = s.credentialKeys()
	w.mgr.ExchangeLocks = []string{w.mgr.Key(LockKind(cache.KindAWS)), w.mgr.Key(LockKind(cache.KindGCP))}
	if w.detection != nil && w.detection.Chosen == "" {
		// flow: auto without a workload identity: a run worker that lands
		// here is misconfigured more often than it lacks a login.
		w.mgr.LoginHint = "run: dagster-oidc login --profile " + p.Name + " (flow: auto found no workload identity here; dagster-oidc status says why for each source)"
	}
	s.Tokens, s.Store = w.mgr, fast
	s.Locker = FileLocker{Dir: dir, Wait: lockWait, Debug: d.Debug}
	s.Debug = d.Debug
	if a := p.AWS; a != nil {
		s.AWS = &awssts.Client{HTTP: d.HTTP, Endpoint: a.STSEndpoint, Region: a.Region, Sleep: d.Sleep, Deadline: a.STSTimeout.D()}
	}
	if g := p.GCP; g != nil {
		s.GCP = &gcpsts.Client{HTTP: d.HTTP, TokenURL: g.TokenURL, ImpersonationURLBase: g.ImpersonationURL, Clock: d.Clock}
	}
}

// credentialKeys are the cache keys of the profile's cloud credentials:
// one document per cloud, holding every role, service account and job.
func (s *Service) credentialKeys() []string {
	return []string{s.w.mgr.Key(cache.KindAWS), s.w.mgr.Key(cache.KindGCP)}
}

// metadata fetches (or reads the cached) discovery document once.
func (s *Service) metadata(ctx context.Context) (*flow.Metadata, error) {
	w := s.w
	if w.meta != nil {
		return w.meta, nil
	}
	m, err := w.discovery.Metadata(ctx)
	if err != nil {
		return nil, err
	}
	w.meta = m
	return m, nil
}

// ClientSecret returns the profile's client secret, "" when it has none.
func (s *Service) ClientSecret() (string, error) {
	p := s.Profile
	switch {
	case p.ClientSecretEnv != "":
		v, ok := s.w.deps.Env(p.ClientSecretEnv)
		if !ok || v == "" {
			return "", fmt.Errorf("client_secret_env names %s, which is not set", p.ClientSecretEnv)
		}
		s.Debug.Secret(v)
		return v, nil
	case p.ClientSecretFile != "":
		secret, info, err := secretfile.Read(p.ClientSecretFile)
		if err != nil {
			return "", fmt.Errorf("could not read client_secret_file: %w", err)
		}
		if now := s.Clock.Now(); info.Stale(now, p.ClientSecretMaxAge.D()) && !s.w.secretAgeWarned && s.Warn != nil {
			s.w.secretAgeWarned = true
			fmt.Fprintf(s.Warn, "warning: client_secret_file %s is %s\n", p.ClientSecretFile, info.Describe(now, p.ClientSecretMaxAge.D()))
		}
		s.Debug.Secret(secret)
		return secret, nil
	}
	return "", nil
}

// DescribeClientSecret says where a profile's client secret comes from and,
// for a file, how old it is (for `status` and `config validate`); an error
// when the file is refused.
func DescribeClientSecret(p *config.Profile, now time.Time) (string, error) {
	switch {
	case p.ClientSecretEnv != "":
		return "from $" + p.ClientSecretEnv, nil
	case p.ClientSecretFile != "":
		info, err := secretfile.Stat(p.ClientSecretFile)
		if err != nil {
			return "", err
		}
		return "file " + p.ClientSecretFile + ", " + info.Describe(now, p.ClientSecretMaxAge.D()), nil
	}
	return "", nil
}

// source builds the token source of the resolved flow.
func (s *Service) source(context.Context) (flow.Source, error) {
	if s.isWorkload() {
		src, err := flow.NewWorkloadSource(s.w.flowName, s.workloadOptions())
		if hint := workloadSetupHint(err); hint != "" {
			return nil, apperr.Usage(err, hint)
		}
		return src, err
	}
	return &humanSource{s: s, name: s.w.flowName}, nil
}

// workloadSetupHint is what to set in the profile when a workload source
// cannot be built from it ("" for other errors).
func workloadSetupHint(err error) string {
	switch {
	case errors.Is(err, flow.ErrNoAudience):
		return "set the audience in the profile"
	case errors.Is(err, flow.ErrNoTokenPath):
		return "set the token path in the profile"
	}
	return ""
}

// humanSource defers discovery until a login actually starts.
type humanSource struct {
	s    *Service
	name string
}

func (h *humanSource) Name() string      { return h.name }
func (h *humanSource) Interactive() bool { return true }

func (h *humanSource) Token(ctx context.Context) (*flow.Token, error) {
	s := h.s
	p, d := s.Profile, s.w.deps
	if p.ClientID == "" {
		return nil, apperr.Usage(fmt.Errorf("profile %q found no workload identity and has no client_id for a %s login", p.Name, h.name),
			"set client_id in the profile, or run where a workload identity is available (see dagster-oidc status)")
	}
	m, secret, err := s.client(ctx)
	if err != nil {
		return nil, err
	}
	open := d.OpenBrowser
	if d.Env.Get(env.NoBrowser) == "1" {
		open = nil
	}
	src, err := flow.NewHumanSource(h.name, flow.HumanOptions{
		ClientID: p.ClientID, ClientSecret: secret, Scopes: p.Scopes, Metadata: m, HTTP: d.HTTP,
		Prompt: d.Stderr, QR: d.QR, Clock: d.Clock, Sleep: d.Sleep,
		Host: p.Browser.Host, Port: p.Browser.Port, Path: p.Browser.Path, Timeout: p.Browser.Timeout.D(),
		Open: open,
		Verify: func(ctx context.Context, raw, nonce string) error {
			_, err := s.w.pol.Verify(ctx, h.name, raw, nonce)
			return err
		},
	})
	if err != nil {
		return nil, err
	}
	return src.Token(ctx)
}

// client returns what a call to the IdP as the profile's client needs.
func (s *Service) client(ctx context.Context) (*flow.Metadata, string, error) {
	m, err := s.metadata(ctx)
	if err != nil {
		return nil, "", err
	}
	secret, err := s.ClientSecret()
	return m, secret, err
}

func (s *Service) refresher(ctx context.Context) (*flow.Refresher, error) {
	m, secret, err := s.client(ctx)
	if err != nil {
		return nil, err
	}
	p := s.Profile
	return &flow.Refresher{ClientID: p.ClientID, ClientSecret: secret, Scopes: p.Scopes, TokenURL: m.TokenURL, HTTP: s.w.deps.HTTP}, nil
}

// audience is what the profile's tokens must carry: a workload profile's
// workload.audience, else the profile's audience, else its client_id.
func (s *Service) audience() string {
	if s.isWorkload() && s.Profile.Workload.Audience != "" {
		return s.Profile.Workload.Audience
	}
	return s.Profile.ExpectedAudience()
}

// policy is the profile's verification policy.
func (s *Service) policy() *flow.Policy {
	p, w := s.Profile, s.w
	pol := &flow.Policy{
		Mode: flow.VerifyMode(p.Verify), Issuer: p.Issuer, Audience: s.audience(),
		Environment: p.Environment, Clock: w.deps.Clock, Skew: p.ClockSkew.D(),
		Keys: func(ctx context.Context) (oidc.KeySet, []string, error) {
			m, err := s.metadata(ctx)
			if err != nil {
				return nil, nil, err
			}
			return w.discovery.KeySet(m.JWKSURL), m.Algorithms, nil
		},
	}
	for _, name := range w.cfg.ProfileNames() {
		q := w.cfg.Profiles[name]
		pol.Foreign = append(pol.Foreign, flow.ForeignAudience{Audience: q.ExpectedAudience(), Profile: name, Environment: q.Environment})
	}
	return pol
}

// lazyStore selects the secrets store on first use, so the cached path never
// probes the keyring.
type lazyStore struct {
	once   sync.Once
	sel    func() (cache.Store, string, error)
	s      cache.Store
	reason string
	err    error
}

func (l *lazyStore) get() (cache.Store, error) {
	l.once.Do(func() { l.s, l.reason, l.err = l.sel() })
	return l.s, l.err
}

// Name returns the selected store's name, selecting it if needed.
func (l *lazyStore) Name() string {
	s, err := l.get()
	if err != nil {
		return "unavailable"
	}
	return s.Name()
}

// Get reads through the selected store.
func (l *lazyStore) Get(key string) ([]byte, error) {
	s, err := l.get()
	if err != nil {
		return nil, err
	}
	return s.Get(key)
}

// Set writes through the selected store.
func (l *lazyStore) Set(key string, v []byte) error {
	s, err := l.get()
	if err != nil {
		return err
	}
	return s.Set(key, v)
}

// Delete deletes through the selected store.
func (l *lazyStore) Delete(key string) error {
	s, err := l.get()
	if err != nil {
		return err
	}
	return s.Delete(key)
}

// Reason says which store was chosen and why.
func (l *lazyStore) Reason() string {
	if _, err := l.get(); err != nil {
		return err.Error()
	}
	return l.reason
}
