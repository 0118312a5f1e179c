// Package warm lets the lean front binary (cmd/dagster-oidc-cached) answer
// a repeated `aws credential-process` or `token` call from the cache without
// starting the full binary, whose start-up alone costs more than the whole warm call
// (docs/performance.md).
//
// After the full binary has served a call, it saves a [Record] under a
// [Call]'s fingerprint: the arguments, the environment, the working
// directory, the user and both binaries' identities. The front serves the
// same call again only while the record, the profiles file it was made from
// (by SHA-256) and the cached credentials all check out, and writes the same
// audit line the full binary would; anything else runs the full binary.
// Nothing here touches the network except a configured syslog sink.
package warm

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/audit"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/env"
)

// FrontName is the front binary's file name; it runs the full binary of
// the same directory.
const FrontName = "dagster-oidc-cached"

// kind is the cache kind of a record.
const kind = "warm"

// maxAge is how long an unused record is kept: STS credentials last at most
// 12 hours, so an older record serves nothing that is not re-exchanged.
const maxAge = 12 * time.Hour

// pruneEvery is how often a new record also removes the old ones; the
// marker file's modification time says when that was last done.
const (
	pruneEvery = time.Hour
	pruneMark  = "pruned"
)

// Call is one invocation, as far as what it prints can depend on it.
type Call struct {
	// Version is the running binary's version string.
	Version string
	// Full identifies the full binary's file (its size and modification
	// time), so a record made by one build is never served for another.
	Full string
	// UID is the user; Dir the working directory.
	UID int
	Dir string
	// Args are the arguments after the program name; Environ the whole
	// environment.
	Args    []string
	Environ []string
}

// FileID is the identity of the file at path for [Call.Full]: its size and
// modification time ("" when it cannot be read).
func FileID(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return strconv.FormatInt(fi.Size(), 10) + "@" + strconv.FormatInt(fi.ModTime().UnixNano(), 10)
}

// Fingerprint names c: a SHA-256 over every field, each length-prefixed,
// the environment sorted. Two calls with the same fingerprint print the same
// document from the same cache.
func (c Call) Fingerprint() string {
	h := sha256.New()
	put := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	put("dagster-oidc warm call v1")
	put(c.Version)
	put(c.Full)
	put(strconv.Itoa(c.UID))
	put(c.Dir)
	put(strconv.Itoa(len(c.Args)))
	for _, a := range c.Args {
		put(a)
	}
	env := slices.Clone(c.Environ)
	slices.Sort(env)
	put(strconv.Itoa(len(env)))
	for _, e := range env {
		put(e)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// The kinds of record: what the call printed.
const (
	// KindAWS: `aws credential-process`, from the profile's AWS document.
	KindAWS = "aws"
	// KindToken: `token`, from the profile's cached ID token.
	KindToken = "token"
)

// The formats of a KindToken record.
const (
	TokenRaw  = "raw"
	TokenJSON = "json"
)

// Record is what the full binary served for a call: where the credentials
// are cached and what the audit line says.
type Record struct {
	// Kind is KindAWS or KindToken.
	Kind string `json:"kind"`
	// Config is the profiles file's absolute path; ConfigSHA256 the hex
	// SHA-256 of the bytes the full binary loaded and validated.
	Config       string `json:"config"`
	ConfigSHA256 string `json:"config_sha256"`
	// Key is the cache key of the entry served: the profile's AWS
	// credentials document (Slot is the call's entry in it) or its ID token.
	// Margin is aws.refresh_margin or refresh_margin.
	Key    string        `json:"key"`
	Slot   string        `json:"slot,omitempty"`
	Margin time.Duration `json:"margin"`
	// Token says which cached ID token a KindToken record may serve, and
	// how it is printed.
	Token *TokenRecord `json:"token,omitempty"`
	// Audit is the trail's set-up; nil when audit.disabled is set.
	Audit *audit.Setup `json:"audit,omitempty"`
	// Event holds the audit line's fields that come from the profile and
	// the run.
	Event Event `json:"event"`
}

// TokenRecord is what a KindToken record needs beyond the key: the
// profile's issuer, client and audience that the cached entry must have, the
// output format and the claims `token --format json` leaves out.
type TokenRecord struct {
	Issuer        string   `json:"issuer"`
	ClientID      string   `json:"client_id"`
	Audience      string   `json:"audience,omitempty"`
	Format        string   `json:"format"`
	PrivateClaims []string `json:"private_claims,omitempty"`
}

// Event is the part of the audit line a record fixes.
type Event struct {
	Profile     string `json:"profile"`
	Environment string `json:"environment,omitempty"`
	Source      string `json:"source,omitempty"`
	Issuer      string `json:"issuer,omitempty"`
	RunID       string `json:"run_id,omitempty"`
	JobName     string `json:"job_name,omitempty"`
}

// store is the file store of records under the cache directory.
func store(cacheDir string) cache.FileStore {
	return cache.FileStore{Dir: filepath.Join(cacheDir, "warm")}
}

// Load returns the record saved for fingerprint fp; ok is false when there
// is none, or when it fails the store's trust and integrity checks.
func Load(cacheDir, fp string) (rec Record, ok bool) {
	data, err := store(cacheDir).Get(fp)
	if err != nil || cache.Decode(data, kind, &rec) != nil {
		return Record{}, false
	}
	return rec, true
}

// Save stores rec under fp unless the same record is there already; a new
// record also removes, at most once an hour, the records unused for longer
// than any credentials last. now is the injected clock's time.
func Save(cacheDir, fp string, rec Record, now time.Time) error {
	if old, ok := Load(cacheDir, fp); ok && equal(old, rec) {
		return nil
	}
	data, err := cache.Encode(kind, rec)
	if err != nil {
		return err
	}
	s := store(cacheDir)
	if err := s.Set(fp, data); err != nil {
		return err
	}
	return prune(s.Dir, now)
}

func equal(a, b Record) bool {
	x, err1 := cache.Encode(kind, a)
	y, err2 := cache.Encode(kind, b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// prune removes the records of dir not written for maxAge, unless that was
// done less than pruneEvery ago.
func prune(dir string, now time.Time) error {
	mark := filepath.Join(dir, pruneMark)
	if fi, err := os.Lstat(mark); err == nil && now.Sub(fi.ModTime()) < pruneEvery {
		return nil
	}
	if err := os.WriteFile(mark, nil, 0o600); err != nil {
		return err
	}
	if err := os.Chtimes(mark, now, now); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || e.Name() == pruneMark || now.Sub(fi.ModTime()) < maxAge {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Split takes the front's request variable (env.WarmRecord) out of
// environ: rest is the call's environment, and asked reports whether the
// front asked for a record (the variable was "1"). The front sets it only
// when it runs the full binary, so the full binary called directly saves
// nothing.
func Split(environ []string) (rest []string, asked bool) {
	prefix := string(env.WarmRecord) + "="
	rest = make([]string, 0, len(environ))
	for _, e := range environ {
		if strings.HasPrefix(e, prefix) {
			asked = e == prefix+"1"
			continue
		}
		rest = append(rest, e)
	}
	return rest, asked
}

// Asking is rest with the front's request for a record added.
func Asking(rest []string) []string {
	return append(slices.Clone(rest), string(env.WarmRecord)+"=1")
}

// Version is the version string of a build for [Call.Version], from what
// the linker set in its main package.
func Version(version, commit, date string) string {
	return version + "\x00" + commit + "\x00" + date
}

// ThisCall is this process's invocation with args as the build version
// (see [Version]) whose binary is full; its environment is the process's
// without the front's request variable (see [Split]). ok is false when the
// working directory cannot be told; such a call is never recorded or
// served.
func ThisCall(version, full string, args []string) (c Call, ok bool) {
	environ, _ := Split(os.Environ())
	dir, err := os.Getwd()
	if err != nil {
		return Call{Environ: environ}, false
	}
	return Call{Version: version, Full: FileID(full), UID: os.Getuid(), Dir: dir, Args: args, Environ: environ}, true
}
