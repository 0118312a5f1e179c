package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/config"
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/env"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/awssts"
	"github.com/dagster-oidc/dagster-oidc/internal/exchange/gcpsts"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/session"
)

// lockWait bounds how long a process waits for another one's refresh or login.
const lockWait = 2 * time.Minute

// resolved is a loaded profile and the pipeline built for it. Nothing here
// touches the network until a method needs it.
type resolved struct {
	f       *Factory
	g       *globalOptions
	cfg     *config.File
	p       *config.Profile
	mgr     *session.Manager
	secrets *lazyStore
	// flowName is the flow in use after --flow and ambient detection.
	flowName  string
	detection *flow.Detection
	discovery *flow.Discovery
	meta      *flow.Metadata
	pol       *flow.Policy
	svc       *credentials.Service
	trail     auditTrail
}

// loadProfile reads the config and selects the profile; flowOverride is --flow.
func loadProfile(f *Factory, g *globalOptions, flowOverride string) (*resolved, error) {
	path := f.ConfigPath(g.ConfigPath)
	cfg, err := config.Load(path)
	if err != nil {
		if errors.Is(err, config.ErrNotExist) {
			return nil, apperr.Usage(fmt.Errorf("no config file at %s", path), "run: dagster-oidc config init --issuer URL --client-id ID (or pass --config)")
		}
		return nil, apperr.Usage(err, "fix the file, then run: dagster-oidc config validate")
	}
	p, err := cfg.Profile(g.profileName(f))
	if err != nil {
		return nil, apperr.Usage(err, "")
	}
	if flowOverride != "" {
		cp := *p
		cp.Flow = flowOverride
		if err := flow.CheckFlow(cp.Flow); err != nil {
			return nil, apperr.Usage(fmt.Errorf("--flow: %w", err), "")
		}
		p = &cp
	}
	r := &resolved{f: f, g: g, cfg: cfg, p: p}
	r.discovery = &flow.Discovery{Issuer: p.Issuer, HTTP: f.HTTPClient(), Dir: f.CacheDir(), Clock: f.Clock}
	r.resolveFlow()
	r.pol = r.policy()
	r.build()
	return r, nil
}

// resolveFlow picks the flow for `auto`: an ambient workload source when one
// is detected, else a human flow.
func (r *resolved) resolveFlow() {
	r.flowName = r.p.Flow
	if r.flowName != "auto" {
		return
	}
	d := flow.DetectAmbient(r.workloadOptions(), r.f.Stat)
	r.detection = &d
	if d.Chosen != "" {
		r.flowName = d.Chosen
		return
	}
	if r.f.IO.CanPrompt() && r.f.HasDisplay != nil && r.f.HasDisplay() {
		r.flowName = "browser"
	} else {
		r.flowName = "device"
	}
}

func (r *resolved) workloadOptions() flow.WorkloadOptions {
	aud := r.p.Workload.Audience
	if aud == "" {
		aud = r.p.ExpectedAudience()
	}
	return flow.WorkloadOptions{
		Path:     r.p.Workload.Path,
		Audience: aud,
		EnvVar:   r.p.Workload.EnvVar,
		HTTP:     r.f.HTTPClient(),
		Env:      flow.Env(r.f.Env),
		Clock:    r.f.Clock,
		Sleep:    r.f.Sleep,
		Skew:     r.p.ClockSkew.D(),
	}
}

func (r *resolved) isWorkload() bool { return config.IsWorkload(r.flowName) }

func (r *resolved) build() {
	f, p := r.f, r.p
	dir := f.CacheDir()
	var fast cache.Store = cache.FileStore{Dir: dir}
	switch p.Cache {
	case cache.ModeMemory:
		fast = &cache.MemoryStore{}
	case cache.ModeNone:
		fast = cache.NoneStore{}
	}
	mode := p.Cache
	if r.isWorkload() && (mode == cache.ModeAuto || mode == cache.ModeKeyring) {
		// Workload tokens are never written to the keyring.
		mode = cache.ModeFile
	}
	r.secrets = &lazyStore{sel: func() (cache.Store, string, error) {
		return cache.Select(mode, f.Keyring, dir, f.KeyringTimeout)
	}}
	clientID := p.ClientID
	r.mgr = &session.Manager{
		Profile:     p.Name,
		Environment: p.Environment,
		Issuer:      p.Issuer,
		ClientID:    clientID,
		Fast:        fast,
		Secrets:     r.secrets,
		LockDir:     dir,
		LockWait:    lockWait,
		Clock:       f.Clock,
		Margin:      p.RefreshMargin.D(),
		CanPrompt:   f.IO.CanPrompt(),
		Warn:        f.IO.ErrOut,
		Source:      r.source,
		Refresher:   func(ctx context.Context) (session.Refresher, error) { return r.refresher(ctx) },
		Verify: func(ctx context.Context, source, raw string) (*flow.Verified, error) {
			return r.pol.Verify(ctx, source, raw, "")
		},
		Audience: r.audience(),
		Workload: r.isWorkload(),
		Observe:  r.observe,
	}
	r.mgr.DerivedKeys = r.credentialKeys()
	r.mgr.ExchangeLocks = []string{r.mgr.Key(credentials.LockKind(cache.KindAWS)), r.mgr.Key(credentials.LockKind(cache.KindGCP))}
	r.svc = &credentials.Service{
		Profile: p, Tokens: r.mgr, Store: fast, Clock: f.Clock, Audit: r, Warn: f.IO.ErrOut,
		Locker: credentials.FileLocker{Dir: dir, Wait: lockWait},
	}
	if a := p.AWS; a != nil {
		r.svc.AWS = &awssts.Client{HTTP: f.HTTPClient(), Endpoint: a.STSEndpoint, Region: a.Region, Sleep: f.Sleep, Deadline: a.STSTimeout.D()}
	}
	if g := p.GCP; g != nil {
		r.svc.GCP = &gcpsts.Client{HTTP: f.HTTPClient(), TokenURL: g.TokenURL, ImpersonationURLBase: g.ImpersonationURL, Clock: f.Clock}
	}
	if r.detection != nil && r.detection.Chosen == "" {
		// flow: auto without a workload identity: a run worker that lands
		// here is misconfigured more often than it lacks a login.
		r.mgr.LoginHint = "run: dagster-oidc login --profile " + p.Name + " (flow: auto found no workload identity here; dagster-oidc status says why for each source)"
	}
}

// credentialKeys are the cache keys of the profile's cloud credentials:
// one document per cloud, holding every role, service account and job.
func (r *resolved) credentialKeys() []string {
	return []string{r.mgr.Key(cache.KindAWS), r.mgr.Key(cache.KindGCP)}
}

// metadata fetches (or reads the cached) discovery document once.
func (r *resolved) metadata(ctx context.Context) (*flow.Metadata, error) {
	if r.meta != nil {
		return r.meta, nil
	}
	m, err := r.discovery.Metadata(ctx)
	if err != nil {
		return nil, err
	}
	r.meta = m
	return m, nil
}

func (r *resolved) clientSecret() (string, error) {
	p := r.p
	switch {
	case p.ClientSecretEnv != "":
		v, ok := r.f.Env(p.ClientSecretEnv)
		if !ok || v == "" {
			return "", fmt.Errorf("client_secret_env names %s, which is not set", p.ClientSecretEnv)
		}
		return v, nil
	case p.ClientSecretFile != "":
		b, err := os.ReadFile(p.ClientSecretFile)
		if err != nil {
			return "", fmt.Errorf("could not read client_secret_file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

// source builds the token source of the resolved flow.
func (r *resolved) source(ctx context.Context) (flow.Source, error) {
	if r.isWorkload() {
		return flow.NewWorkloadSource(r.flowName, r.workloadOptions())
	}
	return &humanSource{r: r, name: r.flowName}, nil
}

// humanSource defers discovery until a login actually starts.
type humanSource struct {
	r    *resolved
	name string
}

func (h *humanSource) Name() string      { return h.name }
func (h *humanSource) Interactive() bool { return true }

func (h *humanSource) Token(ctx context.Context) (*flow.Token, error) {
	r := h.r
	if r.p.ClientID == "" {
		return nil, apperr.Usage(fmt.Errorf("profile %q found no workload identity and has no client_id for a %s login", r.p.Name, h.name),
			"set client_id in the profile, or run where a workload identity is available (see dagster-oidc status)")
	}
	m, err := r.metadata(ctx)
	if err != nil {
		return nil, err
	}
	secret, err := r.clientSecret()
	if err != nil {
		return nil, err
	}
	f := r.f
	open := f.OpenBrowser
	if f.Env.Get(env.NoBrowser) == "1" {
		open = nil
	}
	src, err := flow.NewHumanSource(h.name, flow.HumanOptions{
		ClientID: r.p.ClientID, ClientSecret: secret, Scopes: r.p.Scopes, Metadata: m, HTTP: f.HTTPClient(),
		Prompt: f.IO.ErrOut, QR: f.IO.StderrTTY, Clock: f.Clock, Sleep: f.Sleep,
		Host: r.p.Browser.Host, Port: r.p.Browser.Port, Path: r.p.Browser.Path, Timeout: r.p.Browser.Timeout.D(),
		Open: open,
		Verify: func(ctx context.Context, raw, nonce string) error {
			_, err := r.pol.Verify(ctx, h.name, raw, nonce)
			return err
		},
	})
	if err != nil {
		return nil, err
	}
	return src.Token(ctx)
}

func (r *resolved) refresher(ctx context.Context) (*flow.Refresher, error) {
	m, err := r.metadata(ctx)
	if err != nil {
		return nil, err
	}
	secret, err := r.clientSecret()
	if err != nil {
		return nil, err
	}
	return &flow.Refresher{ClientID: r.p.ClientID, ClientSecret: secret, Scopes: r.p.Scopes, TokenURL: m.TokenURL, HTTP: r.f.HTTPClient()}, nil
}

// audience is what the profile's tokens must carry: a workload profile's
// workload.audience, else the profile's audience, else its client_id.
func (r *resolved) audience() string {
	if r.isWorkload() && r.p.Workload.Audience != "" {
		return r.p.Workload.Audience
	}
	return r.p.ExpectedAudience()
}

// policy is the profile's verification policy.
func (r *resolved) policy() *flow.Policy {
	pol := &flow.Policy{
		Mode: flow.VerifyMode(r.p.Verify), Issuer: r.p.Issuer, Audience: r.audience(),
		Environment: r.p.Environment, Clock: r.f.Clock, Skew: r.p.ClockSkew.D(),
		Keys: func(ctx context.Context) (oidc.KeySet, []string, error) {
			m, err := r.metadata(ctx)
			if err != nil {
				return nil, nil, err
			}
			return r.discovery.KeySet(m.JWKSURL), m.Algorithms, nil
		},
	}
	for _, name := range r.cfg.ProfileNames() {
		q := r.cfg.Profiles[name]
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

// configPath is the absolute path of the profiles file in use (--config,
// DAGSTER_OIDC_CONFIG or the default), for the commands that configure
// another program to call this binary: that program's environment may lack
// the variable or the flag.
func (r *resolved) configPath() string { return absPath(r.f.ConfigPath(r.g.ConfigPath)) }

// absPath resolves p against the working directory for messages.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
