//go:build e2e

package e2e

// Many processes at once on one expired login: the cross-process lock must
// let exactly one of them spend the (rotating) refresh token, and exactly
// one of them call STS, while every process gets the same answer.
//
//	go test -tags e2e -run 'Concurren|Scale' ./e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// stateKey is the cache key of one of the sandbox profile's entries, as the
// binary computes it (environment "dev", the sandbox's issuer and client).
func stateKey(w *world, kind string) string {
	return cache.Key{Kind: kind, Profile: "sandbox", Environment: "dev", Issuer: w.sb.Issuer(), ClientID: w.sb.ClientID()}.String()
}

// cacheDirOf is the binary's cache directory in w.
func cacheDirOf(w *world) string { return w.env["DAGSTER_OIDC_CACHE_DIR"] }

// readEntry decodes one cached entry of the sandbox profile.
func readEntry[T any](t *testing.T, w *world, kind string) T {
	t.Helper()
	var v T
	data, err := cache.FileStore{Dir: cacheDirOf(w)}.Get(stateKey(w, kind))
	if err != nil {
		t.Fatalf("reading the cached %s entry: %v", kind, err)
	}
	if err := cache.Decode(data, kind, &v); err != nil {
		t.Fatalf("decoding the cached %s entry: %v", kind, err)
	}
	return v
}

// editEntry rewrites one cached entry through the cache package's own
// codec, the way time passing would change what the binary reads.
func editEntry[T any](t *testing.T, w *world, kind string, edit func(*T)) {
	t.Helper()
	v := readEntry[T](t, w, kind)
	edit(&v)
	data, err := cache.Encode(kind, v)
	if err != nil {
		t.Fatal(err)
	}
	if err := (cache.FileStore{Dir: cacheDirOf(w)}).Set(stateKey(w, kind), data); err != nil {
		t.Fatalf("writing the cached %s entry: %v", kind, err)
	}
}

// expireLogin makes the cached ID token expired a minute ago, as if the
// login were old: the next use must refresh. (A short IDTokenLifetime
// cannot do this without sleeping: the provider gives refreshed tokens the
// same lifetime, so a margin that makes the login's token stale makes the
// refreshed one stale too and every process would refresh again.)
func expireLogin(t *testing.T, w *world) string {
	t.Helper()
	var old string
	editEntry(t, w, cache.KindToken, func(e *cache.TokenEntry) {
		old = e.IDToken
		e.Expiry = time.Now().Add(-time.Minute)
	})
	return old
}

// awsCacheDoc is the binary's cached document of a profile's AWS credentials.
type awsCacheDoc struct {
	Entries map[string]cache.AWSEntry `json:"entries"`
}

// expireAWS makes every cached AWS credential expired a minute ago.
func expireAWS(t *testing.T, w *world) {
	t.Helper()
	editEntry(t, w, cache.KindAWS, func(d *awsCacheDoc) {
		if len(d.Entries) == 0 {
			t.Fatal("no cached AWS credentials to expire")
		}
		for k, e := range d.Entries {
			e.Expiration = time.Now().Add(-time.Minute)
			d.Entries[k] = e
		}
	})
}

// procResult is one finished process of a launch.
type procResult struct {
	stdout, stderr string
	code           int
	wall           time.Duration
}

// launchTogether starts n processes of dagster-oidc with args back to back, without
// waiting for any, then waits for all of them; ctx bounds the whole run.
// started, when not nil, is closed once every process has been started.
func launchTogether(ctx context.Context, t *testing.T, w *world, n int, started chan<- struct{}, args ...string) []procResult {
	t.Helper()
	type proc struct {
		cmd         *exec.Cmd
		out, errOut bytes.Buffer
		start       time.Time
	}
	procs := make([]*proc, n)
	for i := range procs {
		p := &proc{cmd: w.command(ctx, bin.cli, args...)}
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.errOut
		procs[i] = p
	}
	for i, p := range procs {
		p.start = time.Now()
		if err := p.cmd.Start(); err != nil {
			for _, q := range procs[:i] {
				_ = q.cmd.Process.Kill()
				_ = q.cmd.Wait()
			}
			t.Fatalf("starting process %d: %v", i, err)
		}
	}
	if started != nil {
		close(started)
	}
	res := make([]procResult, n)
	done := make(chan int)
	for i, p := range procs {
		go func() {
			err := p.cmd.Wait()
			r := procResult{wall: time.Since(p.start), stdout: p.out.String(), stderr: p.errOut.String()}
			var ee *exec.ExitError
			switch {
			case errors.As(err, &ee):
				r.code = ee.ExitCode()
			case err != nil:
				r.code, r.stderr = -1, r.stderr+"\n(wait: "+err.Error()+")"
			}
			res[i] = r
			done <- i
		}()
	}
	for range procs {
		<-done
	}
	if ctx.Err() != nil {
		t.Fatalf("the %d processes did not finish in time: %v", n, ctx.Err())
	}
	return res
}

// wallPercentile returns the q-th percentile (0 < q ≤ 100) of the wall times.
func wallPercentile(res []procResult, q int) time.Duration {
	d := make([]time.Duration, len(res))
	for i, r := range res {
		d[i] = r.wall
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := (len(d)*q + 99) / 100
	return d[max(i-1, 0)]
}

// cacheSnapshot reads every file of the cache directory except the lock
// files, keyed by path relative to it.
func cacheSnapshot(t *testing.T, w *world) map[string]string {
	t.Helper()
	dir := cacheDirOf(w)
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "locks" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			out[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the cache directory: %v", err)
	}
	return out
}

// sameCache fails unless the cache directory holds exactly before.
func sameCache(t *testing.T, w *world, before map[string]string, when string) {
	t.Helper()
	after := cacheSnapshot(t, w)
	for k, v := range before {
		if a, ok := after[k]; !ok {
			t.Errorf("%s: cache file %s was removed", when, k)
		} else if a != v {
			t.Errorf("%s: cache file %s changed", when, k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s: cache file %s appeared", when, k)
		}
	}
}

// cacheDecodes fails unless every entry in the cache directory reads back
// through the binary's codec (the frame's checksum; for credential kinds
// also the versioned envelope) and no temporary file was left behind. It returns the entry kinds found.
func cacheDecodes(t *testing.T, w *world) map[string]int {
	t.Helper()
	s := cache.FileStore{Dir: cacheDirOf(w)}
	kinds := map[string]int{}
	for rel := range cacheSnapshot(t, w) {
		name := filepath.Base(rel)
		switch {
		case strings.HasPrefix(name, ".tmp-"):
			t.Errorf("a write left its temporary file %s behind", rel)
		case strings.HasSuffix(name, ".entry") && filepath.Dir(rel) == ".":
			key := strings.TrimSuffix(name, ".entry")
			kind, _, _ := strings.Cut(key, ".")
			data, err := s.Get(key) // checks the frame's length and sha256
			switch kind {
			case cache.KindToken, cache.KindRefresh, cache.KindAWS, cache.KindGCP:
				if err == nil {
					var v map[string]any
					err = cache.Decode(data, kind, &v)
				}
			}
			if err != nil {
				t.Errorf("cache entry %s does not decode: %v", rel, err)
			}
			kinds[kind]++
		}
	}
	return kinds
}

// statusJSON is the part of `status --format json` these tests read.
type statusJSON struct {
	LoggedIn bool   `json:"logged_in"`
	Valid    bool   `json:"valid"`
	Subject  string `json:"subject"`
	Store    struct {
		Tokens        string `json:"tokens"`
		RefreshTokens string `json:"refresh_tokens"`
		Reason        string `json:"reason"`
		RefreshToken  bool   `json:"refresh_token_present"`
	} `json:"store"`
}

// statusOf runs `status --format json` and fails unless it works.
func statusOf(t *testing.T, w *world) statusJSON {
	t.Helper()
	out, stderr, code := w.run("status", "--format", "json")
	if code != 0 {
		t.Fatalf("status --format json: exit %d\n%s", code, stderr)
	}
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --format json is not JSON: %v\n%s", err, out)
	}
	return st
}

func TestConcurrentTokenOnExpiredLoginRefreshesOnce(t *testing.T) {
	const n = 50
	w := newWorld(t, sandbox.Options{RotateRefreshTokens: true, RevokeOnRefreshReuse: true}, "")
	w.login("alice")
	old := expireLogin(t, w)

	// The provider's refresh answer is held until every process has been
	// started, so that they all contend for the lock while the one refresh
	// is in flight.
	started := make(chan struct{})
	p := startTokenProxy(t, w)
	p.setHook(func(rw http.ResponseWriter, r *http.Request, form url.Values, forward func() (*upstreamAnswer, error)) {
		if isRefresh(form) {
			select {
			case <-started:
				time.Sleep(300 * time.Millisecond) // let the last ones reach the lock
			case <-r.Context().Done():
				return
			}
		}
		p.pass(rw, forward)
	})
	before := w.sb.Stats()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	t0 := time.Now()
	res := launchTogether(ctx, t, w, n, started, "token")
	t.Logf("%d concurrent `token` runs: %s in all, p50 %s, p99 %s", n, time.Since(t0).Round(time.Millisecond),
		wallPercentile(res, 50).Round(time.Millisecond), wallPercentile(res, 99).Round(time.Millisecond))

	tokens := map[string]int{}
	for i, r := range res {
		if r.code != 0 {
			t.Errorf("process %d: exit %d\n%s", i, r.code, r.stderr)
			continue
		}
		tokens[strings.TrimSpace(r.stdout)]++
	}
	if len(tokens) != 1 {
		t.Errorf("the %d processes printed %d different tokens, want one", n, len(tokens))
	}
	for tok := range tokens {
		if tok == old {
			t.Error("the processes printed the expired token, not a refreshed one")
		}
	}
	after := w.sb.Stats()
	if got := after.TokenRequests["refresh_token"] - before.TokenRequests["refresh_token"]; got != 1 {
		t.Errorf("the provider got %d refresh requests, want exactly 1", got)
	}
	if after.RefreshReuses != 0 || after.GrantsRevoked != 0 {
		t.Errorf("refresh token reused %d times, %d grants revoked; want 0 and 0", after.RefreshReuses, after.GrantsRevoked)
	}
	cached := readEntry[cache.TokenEntry](t, w, cache.KindToken)
	if _, ok := tokens[cached.IDToken]; !ok {
		t.Error("the cached token is not the one the processes printed")
	}
}

// scaleBench is the line TestScaleCredentialProcessOnExpiredCache appends to
// $DAGSTER_OIDC_BENCH_OUT.
type scaleBench struct {
	Test      string  `json:"test"`
	Processes int     `json:"processes"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	TotalMs   float64 `json:"total_ms"`
}

func TestScaleCredentialProcessOnExpiredCache(t *testing.T) {
	const n = 200
	w := newWorld(t, sandbox.Options{RotateRefreshTokens: true, RevokeOnRefreshReuse: true}, "")
	w.writeConfig(w.profile(fmt.Sprintf(`    aws:
      region: us-east-1
      sts_endpoint: %s
      roles:
        - role_arn: %s
          when: "'data-eng' in claims.groups"
`, w.sb.STSEndpoint(), sandbox.DemoDataEngRoleARN)))
	w.login("alice")
	// One exchange fills the AWS cache; then both the login and the
	// credentials are made expired.
	out, stderr, code := w.run("aws", "credential-process")
	if code != 0 {
		t.Fatalf("first credential-process: exit %d\n%s", code, stderr)
	}
	first := accessKeyID(t, out)
	expireLogin(t, w)
	expireAWS(t, w)
	before := w.sb.Stats()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t0 := time.Now()
	res := launchTogether(ctx, t, w, n, nil, "aws", "credential-process")
	total := time.Since(t0)

	keys := map[string]int{}
	for i, r := range res {
		if r.code != 0 {
			t.Errorf("process %d: exit %d\n%s", i, r.code, r.stderr)
			continue
		}
		keys[accessKeyID(t, r.stdout)]++
	}
	if len(keys) != 1 {
		t.Errorf("the %d processes printed %d different AccessKeyIds, want one", n, len(keys))
	}
	if keys[first] != 0 {
		t.Error("the processes printed the expired credentials")
	}
	after := w.sb.Stats()
	if got := after.TokenRequests["refresh_token"] - before.TokenRequests["refresh_token"]; got != 1 {
		t.Errorf("the provider got %d refresh requests, want exactly 1", got)
	}
	if got := after.STSCalls - before.STSCalls; got != 1 {
		t.Errorf("STS got %d calls, want exactly 1", got)
	}
	if after.RefreshReuses != 0 || after.GrantsRevoked != 0 {
		t.Errorf("refresh token reused %d times, %d grants revoked; want 0 and 0", after.RefreshReuses, after.GrantsRevoked)
	}

	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b := scaleBench{Test: t.Name(), Processes: n, P50ms: ms(wallPercentile(res, 50)), P99ms: ms(wallPercentile(res, 99)), MaxMs: ms(wallPercentile(res, 100)), TotalMs: ms(total)}
	t.Logf("%d concurrent credential-process runs: p50 %.0f ms, p99 %.0f ms, max %.0f ms, all done in %.0f ms", n, b.P50ms, b.P99ms, b.MaxMs, b.TotalMs)
	if path := os.Getenv("DAGSTER_OIDC_BENCH_OUT"); path != "" {
		line, _ := json.Marshal(b)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err == nil {
			_, err = f.Write(append(line, '\n'))
			err = errors.Join(err, f.Close())
		}
		if err != nil {
			t.Errorf("writing DAGSTER_OIDC_BENCH_OUT: %v", err)
		}
	}
}

// accessKeyID decodes a credential_process document and returns its key ID.
func accessKeyID(t *testing.T, out string) string {
	t.Helper()
	var doc struct {
		Version     int
		AccessKeyID string `json:"AccessKeyId"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Version != 1 || doc.AccessKeyID == "" {
		t.Fatalf("not a credential_process document (%v): %q", err, out)
	}
	return doc.AccessKeyID
}
