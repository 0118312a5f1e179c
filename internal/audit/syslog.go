package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

// FacilityAuthPriv is syslog facility 10 (security/authorization, private),
// which Debian's default rsyslog configuration routes to /var/log/auth.log.
const FacilityAuthPriv = 10

// SyslogOptions tune a SyslogSink.
type SyslogOptions struct {
	// Dial opens the connection; a net.Dialer with Timeout when nil.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Clock stamps the syslog header; clock.Real{} when nil.
	Clock clock.Clock
	// Hostname for the header; os.Hostname() when empty.
	Hostname string
	// ProcID for the header; os.Getpid() when zero.
	ProcID int
	// Timeout bounds one dial and one write (default 1 s).
	Timeout time.Duration
	// Facility is the syslog facility (default FacilityAuthPriv).
	Facility int
}

// SyslogSink sends each line as an RFC 5424 message over TCP (octet-counting
// framing, RFC 6587 §3.4.1) or UDP (one datagram per message, RFC 5426). It
// connects lazily at the first write and reconnects after a failure, never
// waiting longer than Timeout per attempt.
type SyslogSink struct {
	network, addr, app string
	o                  SyslogOptions

	mu   sync.Mutex
	conn net.Conn
}

// NewSyslogSink returns a sink for network "tcp" or "udp" and addr
// "host:port". It does not connect yet.
func NewSyslogSink(network, addr, appName string, o SyslogOptions) (*SyslogSink, error) {
	if network != "tcp" && network != "udp" {
		return nil, fmt.Errorf("could not use syslog network %q: want tcp or udp", network)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("could not use syslog address %q: %w", addr, err)
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.Dial == nil {
		d := &net.Dialer{Timeout: o.Timeout}
		o.Dial = d.DialContext
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if o.ProcID == 0 {
		o.ProcID = os.Getpid()
	}
	if o.Facility == 0 {
		o.Facility = FacilityAuthPriv
	}
	return &SyslogSink{network: network, addr: addr, app: headerField(appName, 48), o: o}, nil
}

// Name returns "syslog+tcp://addr" or "syslog+udp://addr".
func (s *SyslogSink) Name() string { return "syslog+" + s.network + "://" + s.addr }

// Write sends one message; on a TCP connection the peer has closed it
// reconnects once before giving up.
func (s *SyslogSink) Write(line []byte) error {
	msg := s.format(line)
	if s.network == "tcp" {
		msg = append([]byte(strconv.Itoa(len(msg))+" "), msg...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; ; attempt++ {
		err := s.send(msg)
		if err == nil {
			return nil
		}
		s.drop()
		if attempt == 1 || s.network != "tcp" {
			return fmt.Errorf("could not send to syslog at %s: %w", s.addr, err)
		}
	}
}

// send writes msg on the current connection, dialling when there is none.
func (s *SyslogSink) send(msg []byte) error {
	if s.conn != nil && s.network == "tcp" && !alive(s.conn) {
		s.drop()
	}
	if s.conn == nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.o.Timeout)
		defer cancel()
		c, err := s.o.Dial(ctx, s.network, s.addr)
		if err != nil {
			return err
		}
		s.conn = c
	}
	if err := s.conn.SetWriteDeadline(time.Now().Add(s.o.Timeout)); err != nil {
		return err
	}
	_, err := s.conn.Write(msg)
	return err
}

// alive reports whether the peer has not closed a TCP connection: a read
// that times out at once means nothing was pending, EOF means closed.
// Syslog servers never send, so any data also means something is wrong.
func alive(c net.Conn) bool {
	if err := c.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
		return false
	}
	var b [1]byte
	_, err := c.Read(b[:])
	var ne net.Error
	ok := err != nil && errors.As(err, &ne) && ne.Timeout()
	_ = c.SetReadDeadline(time.Time{})
	return ok
}

func (s *SyslogSink) drop() {
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
}

// Close closes the connection.
func (s *SyslogSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop()
	return nil
}

// format builds "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG"
// (RFC 5424 §6): the event name is the MSGID, the outcome sets the
// severity, and the JSON line is the MSG.
func (s *SyslogSink) format(line []byte) []byte {
	var head struct {
		Event   string `json:"event"`
		Outcome string `json:"outcome"`
	}
	_ = json.Unmarshal(line, &head)
	severity := 6 // informational
	switch head.Outcome {
	case OutcomeDenied:
		severity = 5 // notice
	case OutcomeError:
		severity = 3 // error
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>1 %s %s %s %d %s - ",
		s.o.Facility*8+severity,
		s.o.Clock.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		headerField(s.o.Hostname, 255),
		s.app,
		s.o.ProcID,
		headerField(head.Event, 32))
	b.Write(line)
	return []byte(b.String())
}

// headerField makes s a valid RFC 5424 header field: printable US-ASCII
// without spaces, at most limit characters, "-" when empty.
func headerField(s string, limit int) string {
	var b strings.Builder
	for _, c := range s {
		if c > 32 && c < 127 && b.Len() < limit {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}
