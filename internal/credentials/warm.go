package credentials

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"

	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/warm"
)

// RememberAWS saves, for the warm front (cmd/dagster-oidc-cached), that
// call was served q's credentials from this profile: the next identical call
// is answered from the cache by the front without starting this binary. It
// saves nothing when the front could not answer the call the same way: the
// credentials document is not in the file store of the cache directory, or
// -v debug lines were asked for. A record that cannot be saved costs only
// speed, so the error is for tests and -v.
func (s *Service) RememberAWS(call warm.Call, q AWSRequest) error {
	w := s.w
	a := s.Profile.AWS
	fs, ok := s.Store.(cache.FileStore)
	if w == nil || a == nil || s.Debug != nil || !ok || fs.Dir != w.deps.CacheDir {
		return nil
	}
	path, err := filepath.Abs(w.cfg.Path)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(w.cfg.Data())
	rec := warm.Record{
		Config: path, ConfigSHA256: hex.EncodeToString(sum[:]),
		Key: s.Tokens.Key(cache.KindAWS), Slot: awsSlot(a, q), Margin: a.RefreshMargin.D(),
		Event: warm.Event{
			Profile: s.Profile.Name, Environment: s.Profile.Environment, Source: w.flowName,
			Issuer: s.Profile.Issuer, RunID: q.Run.ID, JobName: q.Run.Job,
		},
	}
	if !w.cfg.Audit.Disabled {
		setup := Setup(w.cfg.Audit, w.deps.StateDir, w.deps.Home)
		rec.Audit = &setup
	}
	return warm.Save(w.deps.CacheDir, call.Fingerprint(), rec, s.Clock.Now())
}
