//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sandboxAddrRE finds the address in the first line serve prints.
var sandboxAddrRE = regexp.MustCompile(`OpenID provider at http://(127\.0\.0\.1:\d+)`)

// startServe starts a sandbox serve command and returns a scanner of its
// stderr; the test's end stops it.
func startServe(t *testing.T, serve *exec.Cmd) *bufio.Scanner {
	t.Helper()
	stderr, err := serve.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	return bufio.NewScanner(stderr)
}

// drain reads the rest of a scanner, so that its writer never blocks.
func drain(sc *bufio.Scanner) {
	for sc.Scan() {
	}
}

// mdBlock is one fenced code block of a page.
type mdBlock struct {
	lang  string
	line  int // of the opening fence
	lines []string
}

// pageBlocks returns the fenced code blocks of a page, in order.
func pageBlocks(t *testing.T, page string) []mdBlock {
	t.Helper()
	raw, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	var out []mdBlock
	lines := strings.Split(string(raw), "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "```") {
			continue
		}
		b := mdBlock{line: i + 1}
		if f := strings.Fields(strings.TrimPrefix(l, "```")); len(f) > 0 {
			b.lang = f[0]
		}
		indent := lines[i][:strings.Index(lines[i], "```")]
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			b.lines = append(b.lines, strings.TrimPrefix(lines[i], indent))
		}
		out = append(out, b)
	}
	return out
}

// gettingStarted is the walk through docs/getting-started.md: its blocks,
// the sandbox's address, and a shell in a clone-like directory (bin/ holds
// the built binaries) with a private HOME.
type gettingStarted struct {
	t      *testing.T
	blocks []mdBlock
	addr   string // the sandbox's host:port, for the page's 127.0.0.1:8555
	dir    string
	home   string
	config string // for the page's /tmp/dagster-oidc-sandbox.yaml
	env    map[string]string
}

// step returns the sh block whose first line starts with cmd, and the
// output block shown right after it (nil when the next block is a command).
func (g *gettingStarted) step(cmd string) (mdBlock, *mdBlock) {
	g.t.Helper()
	for i, b := range g.blocks {
		if b.lang == "sh" && len(b.lines) > 0 && strings.HasPrefix(b.lines[0], cmd) {
			if i+1 < len(g.blocks) && g.blocks[i+1].lang != "sh" {
				return b, &g.blocks[i+1]
			}
			return b, nil
		}
	}
	g.t.Fatalf("docs/getting-started.md has no ```sh block starting with %q", cmd)
	return mdBlock{}, nil
}

// local rewrites a page's line for this walk: the real address and files.
func (g *gettingStarted) local(s string) string {
	return strings.NewReplacer("127.0.0.1:8555", g.addr, "/tmp/dagster-oidc-sandbox.yaml", g.config, "/home/you", g.home).Replace(s)
}

// environ is the shell's environment.
func (g *gettingStarted) environ() []string {
	var out []string
	for k, v := range g.env {
		out = append(out, k+"="+v)
	}
	return out
}

// shell prepares one line of the page, as typed, with no terminal.
func (g *gettingStarted) shell(ctx context.Context, line string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", "-c", g.local(line))
	cmd.Dir, cmd.Env = g.dir, g.environ()
	return cmd
}

// run runs the lines of a block ("export" and "unset" lines change the
// environment, as in the reader's shell) and returns their output, stdout
// and stderr together as a terminal shows them.
func (g *gettingStarted) run(b mdBlock) string {
	g.t.Helper()
	var out strings.Builder
	for _, line := range b.lines {
		if kv, ok := strings.CutPrefix(line, "export "); ok {
			k, v, _ := strings.Cut(kv, "=")
			g.env[k] = g.local(v)
			continue
		}
		if k, ok := strings.CutPrefix(line, "unset "); ok {
			delete(g.env, k)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := g.shell(ctx, line)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		cancel()
		if err != nil {
			g.t.Fatalf("docs/getting-started.md:%d: %s: %v\n%s", b.line, line, err, out.String())
		}
	}
	return out.String()
}

// Variable parts of the page's sample output and what they stand for.
var sampleParts = []struct{ re, pattern string }{
	{`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`, `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`},
	{`\b\d{10}\b`, `\d{10}`},
	{`in \d+m\d+s\\\)`, `in \d+m\d+s\)`},
	{`\b[A-Z]{4}-[A-Z]{4}\b`, `[A-Z]{4}-[A-Z]{4}`},
	{`ASIA[A-Z0-9]{16}`, `ASIA[A-Z0-9]{16}`},
	{`…|\\\.\\\.\\\.`, `.+`},
}

// lineRE turns one line of the page's sample output into a pattern: the
// text as written, timestamps, codes and keys standing for any such value,
// and "…" or "..." for anything.
func (g *gettingStarted) lineRE(line string) *regexp.Regexp {
	q := regexp.QuoteMeta(g.local(line))
	for _, p := range sampleParts {
		q = regexp.MustCompile(p.re).ReplaceAllLiteralString(q, p.pattern)
	}
	return regexp.MustCompile("^" + q + "$")
}

// expect checks that got is the page's output block, line for line; with
// within, that the block is a contiguous run of got's lines (a block that
// shows the output of the last of several commands).
func (g *gettingStarted) expect(b *mdBlock, got string, within bool) {
	g.t.Helper()
	if b == nil {
		g.t.Fatal("the page shows no output here")
	}
	want := b.lines
	for len(want) > 0 && want[len(want)-1] == "" {
		want = want[:len(want)-1]
	}
	gotLines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	match := func(off int) bool {
		if off+len(want) > len(gotLines) {
			return false
		}
		for i, w := range want {
			if !g.lineRE(w).MatchString(gotLines[off+i]) {
				return false
			}
		}
		return true
	}
	if !within {
		if len(gotLines) == len(want) && match(0) {
			return
		}
	} else {
		for off := range gotLines {
			if match(off) {
				return
			}
		}
	}
	g.t.Errorf("docs/getting-started.md:%d shows:\n%s\nbut the commands printed:\n%s", b.line, strings.Join(want, "\n"), got)
}

// login runs the page's login command, approves its code with the page's
// curl command as user, and checks that login printed the page's prompt
// and "Logged in" blocks (with user's name).
func (g *gettingStarted) login(user string) {
	g.t.Helper()
	loginStep, prompt := g.step("bin/dagster-oidc login")
	curlStep, _ := g.step("curl ")
	var shown mdBlock
	for i := range g.blocks {
		if &g.blocks[i] == prompt && i+1 < len(g.blocks) {
			shown = mdBlock{line: prompt.line, lines: append(append([]string{}, prompt.lines...), g.blocks[i+1].lines...)}
		}
	}
	for i, l := range shown.lines {
		shown.lines[i] = strings.ReplaceAll(l, "alice@example.com", user+"@example.com")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := g.shell(ctx, loginStep.lines[0])
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); pw.Close() }()
	var out strings.Builder
	sc := bufio.NewScanner(pr)
	code := ""
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if m := userCodeRE.FindString(sc.Text()); m != "" && code == "" {
			code = m
		}
		if strings.HasPrefix(sc.Text(), "The code expires") {
			break
		}
	}
	if code == "" {
		g.t.Fatalf("login printed no code:\n%s", out.String())
	}
	curl := userCodeRE.ReplaceAllString(curlStep.lines[0], code)
	curl = strings.NewReplacer("username=alice", "username="+user, "password=alice-password", "password="+user+"-password").Replace(curl)
	if b, err := g.shell(ctx, curl).CombinedOutput(); err != nil || !strings.Contains(string(b), "Device approved.") {
		g.t.Fatalf("the page's curl approval: %v\n%s", err, b)
	}
	rest, _ := io.ReadAll(pr)
	out.Write(rest)
	if err := <-done; err != nil {
		g.t.Fatalf("login: %v\n%s", err, out.String())
	}
	g.expect(&shown, out.String(), false)
}

var userCodeRE = regexp.MustCompile(`\b[A-Z]{4}-[A-Z]{4}\b`)

// TestDocsGettingStartedWalk follows docs/getting-started.md steps 2 to 7
// literally against the sandbox, as a new user would from a clone: the
// page's serve command (on a port the OS chooses instead of 8555), every
// command it shows in the order it shows them, and each output block
// compared with what the binaries printed (timestamps, codes and keys
// standing for any value); the device code is approved with the page's curl
// line; Debian's boto3 reads the credentials; bob gets the analyst role and
// mallory is refused with the page's message and exit code.
func TestDocsGettingStartedWalk(t *testing.T) {
	home := t.TempDir()
	g := &gettingStarted{
		t:      t,
		blocks: pageBlocks(t, filepath.Join("..", "docs", "getting-started.md")),
		dir:    t.TempDir(),
		home:   home,
		config: filepath.Join(t.TempDir(), "dagster-oidc-sandbox.yaml"),
		env:    map[string]string{"HOME": home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
	}
	if err := os.MkdirAll(filepath.Join(g.dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{bin.cli, bin.sandbox} {
		if err := os.Symlink(b, filepath.Join(g.dir, "bin", filepath.Base(b))); err != nil {
			t.Fatal(err)
		}
	}

	// 2. Start the sandbox (terminal 1).
	serveStep, banner := g.step("bin/dagster-oidc-sandbox serve")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.addr = "127.0.0.1:8555" // until the sandbox says where it is
	serve := g.shell(ctx, "exec "+strings.Replace(serveStep.lines[0], " serve", " serve --addr 127.0.0.1:0", 1))
	sc := startServe(t, serve)
	var said strings.Builder
	for i := 0; i < len(banner.lines) && sc.Scan(); i++ {
		said.WriteString(sc.Text() + "\n")
		if m := sandboxAddrRE.FindStringSubmatch(sc.Text()); m != nil {
			g.addr = m[1]
		}
	}
	go drain(sc)
	g.expect(banner, said.String(), false)
	saved, err := os.ReadFile(g.config)
	if err != nil {
		t.Fatal(err)
	}
	var fileBlock *mdBlock
	for i := range g.blocks {
		if g.blocks[i].lang == "yaml" && len(g.blocks[i].lines) > 0 && g.blocks[i].lines[0] == "default_profile: sandbox" {
			fileBlock = &g.blocks[i]
			break
		}
	}
	g.expect(fileBlock, string(saved), false)

	// 3. Point dagster-oidc at it.
	validate, validated := g.step("export DAGSTER_OIDC_CONFIG=")
	g.expect(validated, g.run(validate), false)

	// 4. Log in with the device code.
	g.login("alice")

	// 5. See who you are.
	status, statusOut := g.step("bin/dagster-oidc status")
	g.expect(statusOut, g.run(status), false)
	explain, explained := g.step("bin/dagster-oidc explain")
	g.expect(explained, g.run(explain), false)

	// 6. Get a credential_process document.
	process, document := g.step("bin/dagster-oidc aws credential-process")
	g.expect(document, g.run(process), false)
	configure, wrote := g.step("bin/dagster-oidc aws configure")
	g.expect(wrote, g.run(configure), false)
	boto, _ := g.step("python3 -c")
	if key := strings.TrimSpace(g.run(boto)); !regexp.MustCompile(`^ASIA[A-Z0-9]{16}$`).MatchString(key) {
		t.Errorf("boto3 read no access key from the credential_process profile: %q", key)
	}

	// 7. Try the failure paths.
	failures, refused := g.step("bin/dagster-oidc aws credential-process </dev/null")
	out := g.run(failures)
	g.expect(refused, out, true)
	if !strings.HasSuffix(strings.TrimSpace(out), "exit 3") {
		t.Errorf("after logout, credential-process did not exit 3:\n%s", out)
	}
	if !strings.HasPrefix(out, `{"Version":1,"AccessKeyId":"ASIA`) {
		t.Errorf("before logout, credential-process without a terminal did not print the cached document:\n%s", out)
	}
	g.login("bob")
	if out := g.run(explain); !strings.Contains(out, "target:  arn:aws:iam::000000000000:role/analyst\n") {
		t.Errorf("explain as bob does not choose the analyst role:\n%s", out)
	}
	g.login("mallory")
	var denied *mdBlock
	for i := range g.blocks {
		if len(g.blocks[i].lines) > 0 && strings.HasPrefix(g.blocks[i].lines[0], "error: no rule grants a target") {
			denied = &g.blocks[i]
		}
	}
	cmd := g.shell(context.Background(), "bin/dagster-oidc aws credential-process </dev/null")
	b, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 4 {
		t.Errorf("credential-process as mallory: exit %d (%v), want 4:\n%s", code, err, b)
	}
	g.expect(denied, string(b), false)
}

// TestDocsMakeDemo runs the Makefile's demo recipe with the built binaries
// and checks what getting-started.md step 1 says of it: a device-code login
// approved as alice, then status, explain and aws credential-process, each
// printed with its output, ending with the page's closing sentence.
func TestDocsMakeDemo(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join("..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	recipe := regexp.MustCompile(`(?m)^demo:.*\n\t(.+)$`).FindSubmatch(mk)
	if recipe == nil {
		t.Fatal("the Makefile has no one-line demo recipe")
	}
	line := strings.ReplaceAll(string(recipe[1]), "$(BIN)", filepath.Dir(bin.cli))
	page, err := os.ReadFile(filepath.Join("..", "docs", "getting-started.md"))
	if err != nil {
		t.Fatal(err)
	}
	end := regexp.MustCompile("It ends with\\s+`([^`]+)`").FindSubmatch(page)
	if end == nil {
		t.Fatal("getting-started.md no longer says how the demo ends")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", line)
	home := t.TempDir()
	cmd.Dir, cmd.Env = t.TempDir(), []string{"HOME=" + home, "PATH=/usr/bin:/bin", "LANG=C.UTF-8", "TMPDIR=" + home}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	for _, want := range []string{
		`approved code `, " as alice ",
		"$ dagster-oidc login\n", "$ dagster-oidc status\n", "$ dagster-oidc explain\n", "$ dagster-oidc aws credential-process\n",
		string(end[1]) + "\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasSuffix(string(out), string(end[1])+"\n") {
		t.Errorf("the demo does not end with %q:\n%s", end[1], out)
	}
	if left, _ := filepath.Glob(filepath.Join(home, "dagster-oidc-demo-*")); len(left) > 0 {
		t.Errorf("the demo left its temporary HOME behind: %v", left)
	}
}
