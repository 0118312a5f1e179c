package warm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"maps"
	"slices"
	"time"

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

// Serve answers call when the full binary would answer it from the cache
// unchanged: a record for the call's fingerprint, the profiles file the
// record was made from, and the cached entry the record names with more
// than the margin left. It prints what the full binary prints (the
// credential_process document, or the ID token raw or as JSON) and writes
// its audit line (credential_served, token_served). served is false, with
// nothing written, when any of that does not check out; err is a failure to
// write to stdout once served.
func Serve(call Call, d Deps) (served bool, err error) {
	rec, ok := Load(d.CacheDir, call.Fingerprint())
	if !ok || !configUnchanged(rec) {
		return false, nil
	}
	data, err := cache.FileStore{Dir: d.CacheDir}.Get(rec.Key)
	if err != nil {
		return false, nil
	}
	var a answer
	switch rec.Kind {
	case KindAWS:
		a, ok = answerAWS(rec, data, d.Clock.Now())
	case KindToken:
		a, ok = answerToken(rec, data, d.Clock.Now())
	default: // a record of a kind this build does not know
		ok = false
	}
	if !ok {
		return false, nil
	}
	if rec.Audit != nil {
		if l := audit.Start(*rec.Audit, audit.StartDeps{CacheDir: d.CacheDir, Clock: d.Clock, Stderr: d.Stderr}); l != nil {
			v, e := rec.Event, a.event
			e.Outcome, e.Profile, e.Environment, e.Issuer, e.RunID, e.JobName = "ok", v.Profile, v.Environment, v.Issuer, v.RunID, v.JobName
			if e.Source == "" {
				e.Source = v.Source
			}
			if a.subject != "" {
				e.SubjectHash = l.SubjectHash(a.subject, v.Issuer)
			}
			l.Log(e)
			_ = l.Close()
		}
	}
	_, err = d.Stdout.Write(a.out)
	return true, err
}

// answer is what the front prints for a record and the audit line's own
// fields; subject is hashed into it once the trail's key is read.
type answer struct {
	out     []byte
	event   audit.Event
	subject string
}

// answerAWS is the credential_process document of the record's slot, as
// internal/credentials' cachedExchange serves it.
func answerAWS(rec Record, data []byte, now time.Time) (answer, bool) {
	var doc awsDocument
	if cache.Decode(data, cache.KindAWS, &doc) != nil {
		return answer{}, false
	}
	e, ok := doc.Entries[rec.Slot]
	if !ok || !e.Expiration.After(now.Add(rec.Margin)) {
		return answer{}, false
	}
	var out bytes.Buffer
	if err := output.CredentialProcess(&out, output.AWSCredentials{
		AccessKeyID: e.AccessKeyID, SecretAccessKey: e.SecretAccessKey, SessionToken: e.SessionToken, Expiration: e.Expiration,
	}); err != nil {
		return answer{}, false
	}
	return answer{out: out.Bytes(), event: audit.Event{
		Event: "credential_served", Role: e.RoleARN, SessionName: e.SessionName, CredentialExpiry: e.Expiration,
	}}, true
}

// answerToken is `token`'s output for the cached ID token, served as
// internal/session serves it: an entry of the profile's issuer, client and
// audience with more than refresh_margin left.
func answerToken(rec Record, data []byte, now time.Time) (answer, bool) {
	t := rec.Token
	var e cache.TokenEntry
	if t == nil || cache.Decode(data, cache.KindToken, &e) != nil ||
		e.Issuer != t.Issuer || e.ClientID != t.ClientID || (t.Audience != "" && !slices.Contains(e.Audience, t.Audience)) ||
		!e.Expiry.After(now.Add(rec.Margin)) {
		return answer{}, false
	}
	var out bytes.Buffer
	switch t.Format {
	case TokenRaw:
		out.WriteString(e.IDToken + "\n")
	case TokenJSON:
		claims := maps.Clone(e.Claims)
		if claims == nil {
			claims = map[string]any{}
		}
		for _, k := range t.PrivateClaims {
			delete(claims, k)
		}
		if output.JSON(&out, output.TokenJSON{
			IDToken: e.IDToken, Expiry: e.Expiry.UTC(), RefreshAt: e.Expiry.Add(-rec.Margin).UTC(),
			Source: e.Source, Profile: rec.Event.Profile, Claims: claims,
		}) != nil {
			return answer{}, false
		}
	default:
		return answer{}, false
	}
	return answer{out: out.Bytes(), subject: e.Subject, event: audit.Event{
		Event: "token_served", Source: e.Source, CredentialExpiry: e.Expiry,
	}}, true
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
