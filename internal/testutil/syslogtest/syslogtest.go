// Package syslogtest is a syslog collector for tests: it listens on
// 127.0.0.1 over TCP and keeps every RFC 5424 message it receives, framed
// by octet counting (RFC 6587 §3.4.1) as the audit syslog sink sends them.
package syslogtest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Collector receives syslog messages until the test ends.
type Collector struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []string
	// more is closed and replaced at each message.
	more chan struct{}
	wg   sync.WaitGroup
}

// Start listens on a free 127.0.0.1 port; the listener and its connections
// close when t ends.
func Start(t testing.TB) *Collector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &Collector{ln: ln, more: make(chan struct{})}
	var conns sync.Map
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Store(conn, true)
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				defer conn.Close()
				c.read(conn)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		c.wg.Wait()
	})
	return c
}

// Addr is the collector's host:port.
func (c *Collector) Addr() string { return c.ln.Addr().String() }

// read keeps the octet-counted frames of one connection.
func (c *Collector) read(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		n, err := br.ReadString(' ')
		if err != nil {
			return
		}
		size, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil || size <= 0 || size > 1<<20 {
			return
		}
		buf := make([]byte, size)
		if _, err := io.ReadFull(br, buf); err != nil {
			return
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, string(buf))
		close(c.more)
		c.more = make(chan struct{})
		c.mu.Unlock()
	}
}

// Messages returns the messages received so far, in arrival order.
func (c *Collector) Messages() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.msgs...)
}

// WaitFor returns the messages once there are at least n, failing t when
// they have not all arrived within timeout.
func (c *Collector) WaitFor(t testing.TB, n int, timeout time.Duration) []string {
	t.Helper()
	return c.WaitUntil(t, fmt.Sprintf("%d messages", n), func(msgs []string) bool { return len(msgs) >= n }, timeout)
}

// WaitUntil returns the messages once done reports true of them, failing t
// (naming what, the wait's purpose) when that has not happened within
// timeout. Messages from several writers arrive in no fixed order, so a
// test waits for the message it needs rather than for a count.
func (c *Collector) WaitUntil(t testing.TB, what string, done func([]string) bool, timeout time.Duration) []string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		msgs, more := append([]string(nil), c.msgs...), c.more
		c.mu.Unlock()
		if done(msgs) {
			return msgs
		}
		select {
		case <-more:
		case <-deadline.C:
			t.Fatalf("the syslog collector did not get %s in %s; it got %d messages:\n%s", what, timeout, len(msgs), strings.Join(msgs, "\n"))
		}
	}
}
