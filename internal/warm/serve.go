package warm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"

	"github.com/dagster-oidc/dagster-oidc/internal/audit"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
	"github.com/dagster-oidc/dagster-oidc/internal/readfile"
)

// maxConfig bounds the profiles file read to check its digest; the full
// binary refuses larger files anyway (config.MaxFileSize).
const maxConfig = 1 << 20

// awsDocument is the profile's cached AWS credentials document, as the
// full binary writes it (one entry per slot).
type awsDocument struct {
	Entries map[string]cache.AWSEntry `json:"entries"`
}

// Deps are the front's side effects.
type Deps struct {
	// CacheDir is the cache directory the full binary would use for this
	// call's environment.
	CacheDir string
	Clock    clock.Clock
	Stdout   io.Writer
	// Stderr gets the audit trail's warnings and stderr sink.
	Stderr io.Writer
}

// Serve prints the credential_process document of call when the full
// binary would serve it from the cache unchanged: a record for the call's
// fingerprint, the profiles file the record was made from, and cached
// credentials of the record's slot with more than the margin left. It then
// writes the full binary's credential_served audit line. served is false,
// with nothing written, when any of that does not check out; err is a
// failure to write the document once served.
func Serve(call Call, d Deps) (served bool, err error) {
	rec, ok := Load(d.CacheDir, call.Fingerprint())
	if !ok || !configUnchanged(rec) {
		return false, nil
	}
	data, err := cache.FileStore{Dir: d.CacheDir}.Get(rec.Key)
	if err != nil {
		return false, nil
	}
	var doc awsDocument
	if cache.Decode(data, cache.KindAWS, &doc) != nil {
		return false, nil
	}
	e, ok := doc.Entries[rec.Slot]
	if !ok || !e.Expiration.After(d.Clock.Now().Add(rec.Margin)) {
		return false, nil
	}
	var out bytes.Buffer
	if err := output.CredentialProcess(&out, output.AWSCredentials{
		AccessKeyID: e.AccessKeyID, SecretAccessKey: e.SecretAccessKey, SessionToken: e.SessionToken, Expiration: e.Expiration,
	}); err != nil {
		return false, nil
	}
	if rec.Audit != nil {
		if l := audit.Start(*rec.Audit, audit.StartDeps{CacheDir: d.CacheDir, Clock: d.Clock, Stderr: d.Stderr}); l != nil {
			v := rec.Event
			l.Log(audit.Event{
				Event: "credential_served", Outcome: "ok", Profile: v.Profile, Environment: v.Environment,
				Source: v.Source, Issuer: v.Issuer, Role: e.RoleARN, SessionName: e.SessionName,
				CredentialExpiry: e.Expiration, RunID: v.RunID, JobName: v.JobName,
			})
			_ = l.Close()
		}
	}
	_, err = d.Stdout.Write(out.Bytes())
	return true, err
}

// configUnchanged reports whether the profiles file still holds the bytes
// the record was made from.
func configUnchanged(rec Record) bool {
	data, err := readfile.Regular(rec.Config, maxConfig)
	if err != nil {
		return false
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]) == rec.ConfigSHA256
}
