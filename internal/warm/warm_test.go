package warm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/audit"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
)

// now is the wall clock's time: the pruning test compares it with the
// modification times of files the fixture writes.
var now = time.Now().UTC().Truncate(time.Second)

// fixture is a cache directory holding a record for call, the profiles
// file it names and a credentials document with one entry in its slot.
type fixture struct {
	t        *testing.T
	dir      string
	cacheDir string
	call     Call
	rec      Record
	entry    cache.AWSEntry
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, cacheDir: filepath.Join(dir, "cache")}
	config := filepath.Join(dir, "config.yaml")
	data := []byte("profiles:\n  dev: {}\n")
	if err := os.WriteFile(config, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	f.call = Call{Version: Version("1.2.3", "abc", "2026-12-01"), Full: "123@456", UID: 1000, Dir: dir,
		Args: []string{"aws", "credential-process", "--profile", "dev"}, Environ: []string{"HOME=" + dir, "DAGSTER_RUN_ID=r1"}}
	f.rec = Record{
		Kind: KindAWS, Config: config, ConfigSHA256: hex.EncodeToString(sum[:]), Key: "aws/dev", Slot: "role\x00job\x00r1\x00abcd",
		Margin: 5 * time.Minute, Audit: &audit.Setup{File: filepath.Join(dir, "audit.jsonl")},
		Event: Event{Profile: "dev", Environment: "prod", Source: "device", Issuer: "https://idp.example", RunID: "r1", JobName: "job"},
	}
	f.entry = cache.AWSEntry{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "session",
		Expiration: now.Add(time.Hour), RoleARN: "arn:aws:iam::123456789012:role/etl", SessionName: "alice-r1"}
	if err := Save(f.cacheDir, f.call.Fingerprint(), f.rec, now); err != nil {
		t.Fatal(err)
	}
	f.writeDoc(map[string]cache.AWSEntry{f.rec.Slot: f.entry})
	return f
}

func (f *fixture) writeDoc(entries map[string]cache.AWSEntry) {
	f.t.Helper()
	data, err := cache.Encode(cache.KindAWS, awsDocument{Entries: entries})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := (cache.FileStore{Dir: f.cacheDir}).Set(f.rec.Key, data); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) serve(at time.Time) (bool, string, string) {
	f.t.Helper()
	var out, errOut bytes.Buffer
	served, err := Serve(f.call, Deps{CacheDir: f.cacheDir, Clock: clock.Fake(at), Stdout: &out, Stderr: &errOut})
	if err != nil {
		f.t.Fatalf("Serve: %v", err)
	}
	return served, out.String(), errOut.String()
}

func TestServeWritesTheDocumentAndTheAuditLine(t *testing.T) {
	f := newFixture(t)
	served, out, stderr := f.serve(now)
	if !served || stderr != "" {
		t.Fatalf("served %t, stderr %q; want served and no warning", served, stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v: %q", err, out)
	}
	want := map[string]any{"Version": 1.0, "AccessKeyId": "AKIAEXAMPLE", "SecretAccessKey": "secret", "SessionToken": "session", "Expiration": now.Add(time.Hour).Format(time.RFC3339)}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %v, want %v", k, doc[k], v)
		}
	}
	if len(doc) != len(want) {
		t.Errorf("document has %d fields, want %d: %q", len(doc), len(want), out)
	}
	lines := auditLines(t, f.rec.Audit.File)
	last := lines[len(lines)-1]
	for k, v := range map[string]string{"event": "credential_served", "outcome": "ok", "profile": "dev", "environment": "prod", "source": "device",
		"issuer": "https://idp.example", "role": f.entry.RoleARN, "run_id": "r1", "job_name": "job"} {
		if last[k] != v {
			t.Errorf("audit %s = %v, want %q", k, last[k], v)
		}
	}
	if last["session_hash"] == nil || strings.Contains(strings.Join(rawLines(t, f.rec.Audit.File), ""), "alice-r1") {
		t.Errorf("the session name must be written as session_hash only: %v", last)
	}
	key, err := audit.InstallationKey(f.cacheDir, false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := os.Open(f.rec.Audit.File)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := audit.Verify(key, []audit.TrailFile{{Name: f.rec.Audit.File, R: r}}, nil); err != nil {
		t.Errorf("the front's trail does not verify: %v", err)
	}
}

func TestServeRefusesWhatTheFullBinaryWouldNotServeUnchanged(t *testing.T) {
	cases := []struct {
		name   string
		change func(f *fixture)
		at     time.Time
	}{
		{"another argument", func(f *fixture) { f.call.Args = append(f.call.Args, "--role", "x") }, now},
		{"another environment", func(f *fixture) { f.call.Environ = append(f.call.Environ, "DAGSTER_OIDC_PROFILE=prod") }, now},
		{"another working directory", func(f *fixture) { f.call.Dir = "/" }, now},
		{"another build", func(f *fixture) { f.call.Version = Version("1.2.4", "abd", "2026-12-02") }, now},
		{"another full binary", func(f *fixture) { f.call.Full = "124@456" }, now},
		{"another user", func(f *fixture) { f.call.UID = 1001 }, now},
		{"a kind this build does not know", func(f *fixture) {
			f.rec.Kind = "gcp"
			if err := Save(f.cacheDir, f.call.Fingerprint(), f.rec, now); err != nil {
				t.Fatal(err)
			}
		}, now},
		{"the profiles file edited", func(f *fixture) {
			if err := os.WriteFile(f.rec.Config, []byte("profiles:\n  dev: {flow: device}\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, now},
		{"the profiles file removed", func(f *fixture) { os.Remove(f.rec.Config) }, now},
		{"no credentials document (logout)", func(f *fixture) {
			if err := (cache.FileStore{Dir: f.cacheDir}).Delete(f.rec.Key); err != nil {
				t.Fatal(err)
			}
		}, now},
		{"no entry in the slot", func(f *fixture) { f.writeDoc(map[string]cache.AWSEntry{"other": f.entry}) }, now},
		{"credentials within the margin", func(f *fixture) {}, now.Add(55 * time.Minute)},
		{"credentials expired", func(f *fixture) {}, now.Add(2 * time.Hour)},
		{"a record another user could have written", func(f *fixture) {
			if err := os.Chmod(filepath.Join(f.cacheDir, "warm"), 0o777); err != nil {
				t.Fatal(err)
			}
		}, now},
		{"a tampered record", func(f *fixture) {
			entries, _ := os.ReadDir(filepath.Join(f.cacheDir, "warm"))
			for _, e := range entries {
				if !strings.HasSuffix(e.Name(), ".entry") {
					continue
				}
				p := filepath.Join(f.cacheDir, "warm", e.Name())
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				b[len(b)/2] ^= 1
				if err := os.WriteFile(p, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}, now},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			c.change(f)
			served, out, _ := f.serve(c.at)
			if served || out != "" {
				t.Errorf("served %t, stdout %q; want the full binary to run", served, out)
			}
			if _, err := os.Stat(f.rec.Audit.File); err == nil {
				t.Errorf("an audit line was written for a call not served")
			}
		})
	}
}

func TestServeWithTheTrailDisabledWritesNoAuditLine(t *testing.T) {
	f := newFixture(t)
	path := f.rec.Audit.File
	f.rec.Audit = nil
	if err := Save(f.cacheDir, f.call.Fingerprint(), f.rec, now); err != nil {
		t.Fatal(err)
	}
	if served, out, _ := f.serve(now); !served || out == "" {
		t.Fatalf("served %t, stdout %q", served, out)
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("audit.disabled: an audit file was written")
	}
}

func TestFingerprintIgnoresTheEnvironmentsOrderOnly(t *testing.T) {
	a := Call{Args: []string{"a", "b"}, Environ: []string{"X=1", "Y=2"}}
	b := Call{Args: []string{"a", "b"}, Environ: []string{"Y=2", "X=1"}}
	if a.Fingerprint() != b.Fingerprint() {
		t.Errorf("the environment's order changed the fingerprint")
	}
	for name, c := range map[string]Call{
		"arguments joined": {Args: []string{"ab"}, Environ: a.Environ},
		"argument split":   {Args: []string{"a", "b", ""}, Environ: a.Environ},
		"variable moved":   {Args: []string{"a", "b", "X=1"}, Environ: []string{"Y=2"}},
		"variable value":   {Args: a.Args, Environ: []string{"X=1", "Y=3"}},
	} {
		if c.Fingerprint() == a.Fingerprint() {
			t.Errorf("%s: same fingerprint", name)
		}
	}
}

func TestSaveKeepsAnUnchangedRecordAndPrunesOldOnesHourly(t *testing.T) {
	f := newFixture(t) // its Save at now pruned
	dir := filepath.Join(f.cacheDir, "warm")
	stale := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-13*time.Hour), now.Add(-13*time.Hour)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	save := func(args []string, at time.Time) {
		t.Helper()
		c := f.call
		c.Args = args
		if err := Save(f.cacheDir, c.Fingerprint(), f.rec, at); err != nil {
			t.Fatal(err)
		}
	}
	old := stale("old.entry")
	save(f.call.Args, now.Add(2*time.Hour))
	if !exists(old) {
		t.Errorf("saving an unchanged record pruned (it should write nothing)")
	}
	save([]string{"aws", "credential-process", "--profile", "b"}, now.Add(10*time.Minute))
	if !exists(old) {
		t.Errorf("a new record pruned within the hour of the last pruning")
	}
	save([]string{"aws", "credential-process", "--profile", "c"}, now.Add(2*time.Hour))
	if exists(old) {
		t.Errorf("a record unused for 13 hours was kept")
	}
	if _, ok := Load(f.cacheDir, f.call.Fingerprint()); !ok {
		t.Errorf("a fresh record was pruned")
	}
}

func TestSplitTakesTheFrontsRequestOutOfTheCall(t *testing.T) {
	for _, c := range []struct {
		name    string
		environ []string
		rest    []string
		asked   bool
	}{
		{"asked", []string{"A=1", "DAGSTER_OIDC_WARM_RECORD=1", "B=2"}, []string{"A=1", "B=2"}, true},
		{"not asked", []string{"A=1"}, []string{"A=1"}, false},
		{"another value", []string{"DAGSTER_OIDC_WARM_RECORD=yes", "A=1"}, []string{"A=1"}, false},
		{"a longer name is kept", []string{"DAGSTER_OIDC_WARM_RECORDS=1"}, []string{"DAGSTER_OIDC_WARM_RECORDS=1"}, false},
	} {
		rest, asked := Split(c.environ)
		if asked != c.asked || strings.Join(rest, " ") != strings.Join(c.rest, " ") {
			t.Errorf("%s: Split = %q, %t; want %q, %t", c.name, rest, asked, c.rest, c.asked)
		}
		again, asked := Split(Asking(rest))
		if !asked || strings.Join(again, " ") != strings.Join(rest, " ") {
			t.Errorf("%s: Split(Asking(rest)) = %q, %t; want rest and asked", c.name, again, asked)
		}
	}
}

func TestThisCallIsTheProcesssInvocation(t *testing.T) {
	full := filepath.Join(t.TempDir(), "dagster-oidc")
	if err := os.WriteFile(full, []byte("build"), 0o700); err != nil {
		t.Fatal(err)
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, value := range []string{"1", ""} {
		t.Setenv("DAGSTER_OIDC_WARM_RECORD", value)
		c, ok := ThisCall("v\x00c\x00d", full, []string{"token", "--format", "json"})
		if !ok {
			t.Fatalf("WARM_RECORD=%q: the call could not be told", value)
		}
		if c.Version != "v\x00c\x00d" || c.Full != FileID(full) || c.UID != os.Getuid() || c.Dir != dir || strings.Join(c.Args, " ") != "token --format json" {
			t.Errorf("WARM_RECORD=%q: call = %+v", value, c)
		}
		for _, e := range c.Environ {
			if strings.HasPrefix(e, "DAGSTER_OIDC_WARM_RECORD=") {
				t.Errorf("WARM_RECORD=%q: the front's request is in the call's environment", value)
			}
		}
		if len(c.Environ) == 0 {
			t.Errorf("WARM_RECORD=%q: the call has no environment", value)
		}
	}
}

func rawLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no audit file: %v", err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func auditLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range rawLines(t, path) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("audit line is not JSON: %v: %q", err, l)
		}
		out = append(out, m)
	}
	return out
}

// tokenFixture is a fixture whose record serves the profile's cached ID
// token in format.
func tokenFixture(t *testing.T, format string) (*fixture, cache.TokenEntry) {
	t.Helper()
	f := newFixture(t)
	f.rec.Kind, f.rec.Key, f.rec.Slot = KindToken, "token/dev", ""
	f.rec.Token = &TokenRecord{Issuer: "https://idp.example", ClientID: "dagster", Audience: "dagster", Format: format, PrivateClaims: []string{"groups"}}
	if err := Save(f.cacheDir, f.call.Fingerprint(), f.rec, now); err != nil {
		t.Fatal(err)
	}
	e := cache.TokenEntry{
		IDToken: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln", Expiry: now.Add(time.Hour), Source: "device",
		Issuer: "https://idp.example", ClientID: "dagster", Audience: []string{"dagster"}, Subject: "alice",
		Claims: map[string]any{"sub": "alice", "email": "alice@example.com", "groups": []any{"admins"}},
	}
	writeToken(t, f, e)
	return f, e
}

func writeToken(t *testing.T, f *fixture, e cache.TokenEntry) {
	t.Helper()
	data, err := cache.Encode(cache.KindToken, e)
	if err != nil {
		t.Fatal(err)
	}
	if err := (cache.FileStore{Dir: f.cacheDir}).Set(f.rec.Key, data); err != nil {
		t.Fatal(err)
	}
}

func TestServePrintsTheCachedIDTokenAsTokenDoes(t *testing.T) {
	t.Run("raw", func(t *testing.T) {
		f, e := tokenFixture(t, TokenRaw)
		served, out, stderr := f.serve(now)
		if !served || out != e.IDToken+"\n" || stderr != "" {
			t.Fatalf("served %t, stdout %q, stderr %q; want the token and a newline", served, out, stderr)
		}
		lines := auditLines(t, f.rec.Audit.File)
		last := lines[len(lines)-1]
		for k, v := range map[string]string{"event": "token_served", "outcome": "ok", "profile": "dev", "source": "device", "issuer": "https://idp.example", "run_id": "r1"} {
			if last[k] != v {
				t.Errorf("audit %s = %v, want %q", k, last[k], v)
			}
		}
		if h, _ := last["subject_hash"].(string); len(h) != 32 || strings.Contains(strings.Join(rawLines(t, f.rec.Audit.File), ""), "alice") {
			t.Errorf("the subject must be written as a subject_hash only: %v", last)
		}
	})
	t.Run("json", func(t *testing.T) {
		f, e := tokenFixture(t, TokenJSON)
		served, out, _ := f.serve(now)
		var doc output.TokenJSON
		if !served || json.Unmarshal([]byte(out), &doc) != nil {
			t.Fatalf("served %t, stdout %q", served, out)
		}
		if doc.IDToken != e.IDToken || !doc.Expiry.Equal(e.Expiry) || !doc.RefreshAt.Equal(e.Expiry.Add(-f.rec.Margin)) ||
			doc.Source != "device" || doc.Profile != "dev" || doc.Claims["email"] != "alice@example.com" || doc.Claims["groups"] != nil {
			t.Errorf("document %+v: want the entry's token, expiry, expiry minus the margin, source, profile and claims without the private one", doc)
		}
	})
}

func TestServeRefusesATokenTheSessionWouldNotServe(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(f *fixture, e *cache.TokenEntry)
		at     time.Time
	}{
		{"another issuer's entry", func(_ *fixture, e *cache.TokenEntry) { e.Issuer = "https://other.example" }, now},
		{"another client's entry", func(_ *fixture, e *cache.TokenEntry) { e.ClientID = "other" }, now},
		{"without the profile's audience", func(_ *fixture, e *cache.TokenEntry) { e.Audience = []string{"other"} }, now},
		{"within the refresh margin", func(*fixture, *cache.TokenEntry) {}, now.Add(56 * time.Minute)},
		{"an unknown format", func(f *fixture, _ *cache.TokenEntry) { f.rec.Token.Format = "yaml" }, now},
		{"a record without its token section", func(f *fixture, _ *cache.TokenEntry) { f.rec.Token = nil }, now},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, e := tokenFixture(t, TokenRaw)
			c.change(f, &e)
			writeToken(t, f, e)
			if err := Save(f.cacheDir, f.call.Fingerprint(), f.rec, now); err != nil {
				t.Fatal(err)
			}
			if served, out, _ := f.serve(c.at); served || out != "" {
				t.Errorf("served %t, stdout %q; want the full binary to run", served, out)
			}
		})
	}
}
