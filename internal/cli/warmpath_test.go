package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// Variables that make TestWarmPathCompilesNoPattern's child process run one
// warm command in the directory its parent prepared.
const (
	warmDirEnv  = "DAGSTER_OIDC_TEST_WARM_DIR"
	warmArgsEnv = "DAGSTER_OIDC_TEST_WARM_ARGS"
)

// compileFrames are functions that compile a pattern or a template: on the
// warm path each costs a measurable share of the process
// (docs/performance.md), and three such compilations crept in within a day.
var compileFrames = []string{"regexp.compile", "regexp/syntax.Parse", "text/template.(*Template).Parse"}

// TestWarmPathCompilesNoPattern runs the warm `aws credential-process` and
// `token`, each in a fresh process (a pattern compiled once is cached for the
// rest of a process, so an earlier cold call would hide it), and fails if
// either compiles a regular expression or a template after Main starts.
func TestWarmPathCompilesNoPattern(t *testing.T) {
	if dir := os.Getenv(warmDirEnv); dir != "" {
		warmChild(t, dir, strings.Fields(os.Getenv(warmArgsEnv)))
		return
	}
	e := newTestEnv(t, sandbox.Options{})
	e.addDataEngAWS()
	e.login("alice")
	mustRun(t, e, "aws", "credential-process")
	mustRun(t, e, "token")
	for _, args := range []string{"aws credential-process", "token"} {
		t.Run(args, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestWarmPathCompilesNoPattern$", "-test.count=1")
			cmd.Env = append(os.Environ(), warmDirEnv+"="+e.dir, warmArgsEnv+"="+args)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("warm %s in a fresh process: %v\n%s", args, err, out)
			}
		})
	}
}

// warmChild runs args once against the warm cache in dir, with the network
// down, recording every allocation, and fails on a compilation under Main.
func warmChild(t *testing.T, dir string, args []string) {
	e := &testEnv{t: t, dir: dir, keyring: newMemKeyring(), clock: clock.Real{}, env: map[string]string{
		"HOME":                   dir,
		"DAGSTER_OIDC_CACHE_DIR": filepath.Join(dir, "cache"),
		"DAGSTER_OIDC_STATE_DIR": filepath.Join(dir, "state"),
		"DAGSTER_OIDC_CONFIG":    filepath.Join(dir, "config.yaml"),
	}}
	e.down.Store(true)
	runtime.MemProfileRate = 1
	out, stderr, code := e.run(args...)
	runtime.MemProfileRate = 0
	if code != 0 || out == "" {
		t.Fatalf("%v: exit %d, %d bytes out: %s", args, code, len(out), stderr)
	}
	if n := e.reqs.Load(); n != 0 {
		t.Errorf("%v made %d requests on a warm cache", args, n)
	}
	// The profile holds allocations up to the last completed GC cycle.
	runtime.GC()
	runtime.GC()
	records := make([]runtime.MemProfileRecord, 4096)
	n, ok := runtime.MemProfile(records, true)
	for !ok {
		records = make([]runtime.MemProfileRecord, n+1024)
		n, ok = runtime.MemProfile(records, true)
	}
	found, first := 0, ""
	for _, r := range records[:n] {
		if stack, bad := compiledUnderMain(r.Stack()); bad {
			if found++; found == 1 {
				first = stack
			}
		}
	}
	if found > 0 {
		t.Errorf("%v compiles a pattern or template at every start (%d allocation sites); the first:\n%s", args, found, first)
	}
}

// compiledUnderMain reports whether an allocation's stack is a compilation
// (compileFrames) that Main called, and returns the stack for the message.
func compiledUnderMain(pcs []uintptr) (string, bool) {
	var b strings.Builder
	compiles, underMain := false, false
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		fmt.Fprintf(&b, "  %s\n", f.Function)
		for _, c := range compileFrames {
			if strings.HasSuffix(f.Function, c) {
				compiles = true
			}
		}
		if strings.HasSuffix(f.Function, "internal/cli.Main") {
			underMain = true
		}
		if !more {
			break
		}
	}
	return b.String(), compiles && underMain
}

// addDataEngAWS gives the sandbox profile an aws block on the sandbox's STS
// with the demo data-eng role for members of data-eng.
func (e *testEnv) addDataEngAWS() {
	e.t.Helper()
	e.writeConfig(readFile(e.t, e.config) + fmt.Sprintf(`    aws:
      region: us-east-1
      sts_endpoint: %s
      roles:
        - role_arn: %s
          when: "'data-eng' in claims.groups"
`, e.sb.STSEndpoint(), sandbox.DemoDataEngRoleARN))
}
