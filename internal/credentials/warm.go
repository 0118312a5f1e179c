package credentials

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"

	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/runctx"
	"github.com/dagster-oidc/dagster-oidc/internal/warm"
)

// RememberAWS saves, for the warm front (cmd/dagster-oidc-cached), that
// call was served q's credentials from this profile: the next identical call
// is answered from the cache by the front without starting this binary. It
// saves nothing when the front could not answer the call the same way (see
// record). A record that cannot be saved costs only speed, so the error is
// for tests.
func (s *Service) RememberAWS(call warm.Call, q AWSRequest) error {
	a := s.Profile.AWS
	rec, ok := s.warmRecord(warm.KindAWS, cache.KindAWS)
	if !ok || a == nil {
		return nil
	}
	rec.Slot, rec.Margin = awsSlot(a, q), a.RefreshMargin.D()
	rec.Event.RunID, rec.Event.JobName = q.Run.ID, q.Run.Job
	return warm.Save(s.w.deps.CacheDir, call.Fingerprint(), rec, s.Clock.Now())
}

// RememberToken saves, for the warm front, that call printed the profile's
// cached ID token in format (warm.TokenRaw or warm.TokenJSON). Workload
// tokens are never cached, so there is nothing to save for them.
func (s *Service) RememberToken(call warm.Call, format string) error {
	rec, ok := s.warmRecord(warm.KindToken, cache.KindToken)
	if !ok || s.isWorkload() {
		return nil
	}
	p := s.Profile
	rec.Margin = p.RefreshMargin.D()
	rec.Token = &warm.TokenRecord{Issuer: p.Issuer, ClientID: p.ClientID, Audience: s.w.mgr.Audience, Format: format, PrivateClaims: p.PrivateClaims}
	// token's audit line takes the run from the environment (trail.Observe).
	run := runctx.Parse(nil, s.w.deps.Env)
	rec.Event.RunID, rec.Event.JobName = run.ID, run.Job
	return warm.Save(s.w.deps.CacheDir, call.Fingerprint(), rec, s.Clock.Now())
}

// warmRecord is the part of a record every kind shares, for the cache kind
// entry of the profile; ok is false when the front could not answer from
// it as this binary does: the entry is not in the file store of the cache
// directory, or -v debug lines were asked for.
func (s *Service) warmRecord(kind, entry string) (rec warm.Record, ok bool) {
	w := s.w
	fs, isFile := s.Store.(cache.FileStore)
	if w == nil || s.Debug != nil || !isFile || fs.Dir != w.deps.CacheDir {
		return rec, false
	}
	path, err := filepath.Abs(w.cfg.Path)
	if err != nil {
		return rec, false
	}
	sum := sha256.Sum256(w.cfg.Data())
	rec = warm.Record{
		Kind: kind, Config: path, ConfigSHA256: hex.EncodeToString(sum[:]), Key: s.Tokens.Key(entry),
		Event: warm.Event{Profile: s.Profile.Name, Environment: s.Profile.Environment, Source: w.flowName, Issuer: s.Profile.Issuer},
	}
	if !w.cfg.Audit.Disabled {
		setup := Setup(w.cfg.Audit, w.deps.StateDir, w.deps.Home)
		rec.Audit = &setup
	}
	return rec, true
}
