//go:build rsyslog

// Integration test against a real rsyslogd (Debian package rsyslog):
//
//	go test -tags rsyslog ./internal/audit/
package audit

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

const rsyslogd = "/usr/sbin/rsyslogd"

// freePort returns a port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startRsyslog runs rsyslogd in the foreground with TCP and UDP inputs on
// 127.0.0.1, writing "msgid|app|procid|msg" lines to the returned file.
func startRsyslog(t *testing.T) (tcpAddr, udpAddr, out string, stop func()) {
	t.Helper()
	if _, err := os.Stat(rsyslogd); err != nil {
		t.Fatalf("%s is required for -tags rsyslog (apt-get install -y --no-install-recommends rsyslog): %v", rsyslogd, err)
	}
	dir := t.TempDir()
	tcpPort, udpPort := freePort(t, "tcp"), freePort(t, "udp")
	out = filepath.Join(dir, "messages.log")
	conf := fmt.Sprintf(`global(workDirectory=%q)
module(load="imtcp")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port="%d")
input(type="imudp" address="127.0.0.1" port="%d")
template(name="fields" type="string" string="%%msgid%%|%%app-name%%|%%procid%%|%%pri%%|%%msg%%\n")
*.* action(type="omfile" file=%q template="fields")
`, dir, tcpPort, udpPort, out)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(rsyslogd, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("could not start rsyslogd: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	t.Cleanup(stop)

	tcpAddr = fmt.Sprintf("127.0.0.1:%d", tcpPort)
	udpAddr = fmt.Sprintf("127.0.0.1:%d", udpPort)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", tcpAddr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("rsyslogd exited: %s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd did not listen on %s: %s", tcpAddr, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return tcpAddr, udpAddr, out, stop
}

// waitForLines waits until out holds n lines.
func waitForLines(t *testing.T, out string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(out)
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(b) > 0 && len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslog wrote %d of %d lines:\n%s", len(lines), n, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRsyslog(t *testing.T) {
	tcpAddr, udpAddr, out, stop := startRsyslog(t)
	opts := SyslogOptions{Clock: clock.Fake(testNow), Hostname: "worker-1", ProcID: 4242, Timeout: 500 * time.Millisecond}
	tcpSink, err := NewSyslogSink("tcp", tcpAddr, "dagster-oidc", opts)
	if err != nil {
		t.Fatal(err)
	}
	udpSink, err := NewSyslogSink("udp", udpAddr, "dagster-oidc", opts)
	if err != nil {
		t.Fatal(err)
	}
	var local lockedBuffer
	rep := &reports{}
	l := newTestLogger([]Sink{tcpSink, udpSink, NewWriterSink("local", &local)}, rep.add)
	events := sampleEvents(l)[:2] // login and exchange
	for _, e := range events {
		l.Log(e)
	}

	// Each event arrives once over TCP and once over UDP, byte for byte the
	// JSON line the local sink got.
	got := waitForLines(t, out, 4)
	sent := waitForLocal(t, &local, 2)
	want := map[string]int{}
	for i, line := range sent {
		msgid := []string{"login", "exchange"}[i]
		want[msgid+"|dagster-oidc|4242|86|"+line] = 2
	}
	counts := map[string]int{}
	for _, g := range got {
		counts[g]++
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("rsyslog has %d copies of\n%s\nwant %d; all lines:\n%s", counts[k], k, n, strings.Join(got, "\n"))
		}
	}
	if names := rep.sorted(); len(names) != 0 {
		t.Errorf("sink errors while rsyslog was up: %v", names)
	}

	// rsyslog goes away: Log still returns at once, the local sink still
	// gets the event, the TCP sink is reported once, Close is bounded.
	stop()
	start := time.Now()
	for i := 0; i < 3; i++ {
		l.Log(Event{Event: EventCredentialServed, Outcome: OutcomeOK, RunID: "5f2c5a3e-8d1b-4c7a-9e0f-1a2b3c4d5e6f"})
	}
	// Log is asynchronous; a generous bound that a loaded machine still
	// meets, while a Log that waited on the dead collector would not.
	if d := time.Since(start); d > time.Second {
		t.Errorf("Log took %v with syslog down", d)
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v with syslog down", d)
	}
	if n := strings.Count(local.String(), `"credential_served"`); n != 3 {
		t.Errorf("local sink got %d credential_served events, want 3", n)
	}
	// TCP notices at once; UDP only if the ICMP "port unreachable" comes
	// back before the next datagram. Either way, once per sink.
	names := rep.sorted()
	tcpN, udpN := countOf(names, tcpSink.Name()), countOf(names, udpSink.Name())
	if tcpN != 1 || udpN > 1 || tcpN+udpN != len(names) {
		t.Errorf("OnSinkError calls %v, want %s once and %s at most once", names, tcpSink.Name(), udpSink.Name())
	}
}

// lockedBuffer is a bytes.Buffer safe to read while a sink writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitForLocal waits until b holds n lines and returns them.
func waitForLocal(t *testing.T, b *lockedBuffer, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
		if b.String() != "" && len(lines) >= n {
			return lines[:n]
		}
		if time.Now().After(deadline) {
			t.Fatalf("local sink has %q", b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func countOf(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

// Checkpoints through a real rsyslogd: what the collector wrote verifies
// the intact trail and catches the same trail with its end cut off.
func TestRsyslogCheckpointsDetectTailTruncation(t *testing.T) {
	tcpAddr, _, out, _ := startRsyslog(t)
	syslog, err := NewSyslogSink("tcp", tcpAddr, "dagster-oidc", SyslogOptions{Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer syslog.Close()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	fs, err := NewFileSink(path, FileSinkOptions{Key: testKey(), Checkpoints: syslog, CheckpointEvery: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 { // genesis + 5 lines: checkpoints at 2, 4, 6
		if err := fs.Write(fmt.Appendf(nil, `{"v":2,"event":"credential_served","n":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	got := waitForLines(t, out, 3)
	cps, err := ReadCheckpoints(strings.NewReader(strings.Join(got, "\n")))
	if err != nil || len(cps) != 3 {
		t.Fatalf("checkpoints from rsyslog: %+v, %v\n%s", cps, err, strings.Join(got, "\n"))
	}
	trail := readChain(t, path)
	if rep, err := Verify(testKey(), []TrailFile{{Name: "audit.jsonl", R: bytes.NewReader(trail)}}, cps); err != nil || rep.Checkpoints != 3 {
		t.Errorf("intact trail: %+v, %v", rep, err)
	}
	lines := strings.SplitAfter(string(trail), "\n")
	cut := strings.Join(lines[:5], "")
	_, err = Verify(testKey(), []TrailFile{{Name: "audit.jsonl", R: strings.NewReader(cut)}}, cps)
	if err == nil || !strings.Contains(err.Error(), "records line 6: the end of the trail was cut off") {
		t.Errorf("trail cut at line 5: %v", err)
	}
}
