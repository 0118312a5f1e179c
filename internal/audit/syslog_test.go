package audit

import (
	"bufio"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

func testSyslogOptions() SyslogOptions {
	return SyslogOptions{Clock: clock.Fake(testNow), Hostname: "worker-1", ProcID: 42, Timeout: 2 * time.Second}
}

// readFrame reads one octet-counted frame (RFC 6587 §3.4.1).
func readFrame(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	lenStr, err := r.ReadString(' ')
	if err != nil {
		t.Fatalf("reading frame length: %v", err)
	}
	n, err := strconv.Atoi(strings.TrimSuffix(lenStr, " "))
	if err != nil {
		t.Fatalf("frame length %q: %v", lenStr, err)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	return string(buf)
}

func TestSyslogTCPFraming(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := NewSyslogSink("tcp", ln.Addr().String(), "dagster oidc", testSyslogOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	lines := []string{
		`{"v":1,"event":"login","outcome":"ok"}`,
		`{"v":1,"event":"policy_denied","outcome":"denied","reason":"ünïcode"}`,
		`{"v":1,"event":"exchange","outcome":"error"}`,
	}
	want := []string{
		`<86>1 2026-03-14T15:09:26.535000Z worker-1 dagsteroidc 42 login - ` + lines[0],
		`<85>1 2026-03-14T15:09:26.535000Z worker-1 dagsteroidc 42 policy_denied - ` + lines[1],
		`<83>1 2026-03-14T15:09:26.535000Z worker-1 dagsteroidc 42 exchange - ` + lines[2],
	}
	conns := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()

	if err := s.Write([]byte(lines[0])); err != nil {
		t.Fatal(err)
	}
	c1 := <-conns
	r1 := bufio.NewReader(c1)
	if got := readFrame(t, r1); got != want[0] {
		t.Errorf("frame\n got %q\nwant %q", got, want[0])
	}
	if err := s.Write([]byte(lines[1])); err != nil {
		t.Fatal(err)
	}
	if got := readFrame(t, r1); got != want[1] {
		t.Errorf("frame\n got %q\nwant %q", got, want[1])
	}

	// The server drops the connection; the next write reconnects.
	c1.Close()
	if err := s.Write([]byte(lines[2])); err != nil {
		t.Fatalf("write after the server closed the connection: %v", err)
	}
	select {
	case c2 := <-conns:
		defer c2.Close()
		if got := readFrame(t, bufio.NewReader(c2)); got != want[2] {
			t.Errorf("frame\n got %q\nwant %q", got, want[2])
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reconnection")
	}
}

func TestSyslogUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s, err := NewSyslogSink("udp", pc.LocalAddr().String(), "dagster-oidc", testSyslogOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	line := `{"v":1,"event":"credential_served","outcome":"ok"}`
	if err := s.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	if err := pc.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := `<86>1 2026-03-14T15:09:26.535000Z worker-1 dagster-oidc 42 credential_served - ` + line
	if got := string(buf[:n]); got != want {
		t.Errorf("datagram\n got %q\nwant %q", got, want)
	}
}

func TestSyslogDialFailureIsQuick(t *testing.T) {
	o := testSyslogOptions()
	o.Timeout = 100 * time.Millisecond
	o.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		<-ctx.Done() // a black-holed address
		return nil, ctx.Err()
	}
	s, err := NewSyslogSink("tcp", "192.0.2.1:514", "dagster-oidc", o)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.Write([]byte(`{"event":"login"}`)); err == nil {
		t.Fatal("write to an unreachable server succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("write took %v", d)
	}
}

func TestNewSyslogSinkValidates(t *testing.T) {
	for _, tt := range []struct{ network, addr string }{{"unix", "127.0.0.1:514"}, {"tcp", "no-port"}} {
		if _, err := NewSyslogSink(tt.network, tt.addr, "x", SyslogOptions{}); err == nil {
			t.Errorf("NewSyslogSink(%q, %q) succeeded", tt.network, tt.addr)
		}
	}
}
