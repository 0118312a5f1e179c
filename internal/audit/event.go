// Package audit writes one privacy-safe JSON line per credential decision
// (login, refresh, token served, exchange, credential served, verification
// failure, policy denial, login required) to a set of sinks: a hash-chained
// append-only file, stderr, syslog.
//
// Privacy and secrecy hold by construction: an Event has no field for a
// token or a raw claim set. The subject is recorded only as a keyed hash
// (SubjectHash), claims only through an allow-list (FilterClaims), and every
// string that still looks like a JWT or a bearer credential is replaced by
// "[redacted]" before it is written.
package audit

import (
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Event names.
const (
	EventLogin              = "login"
	EventRefresh            = "refresh"
	EventTokenServed        = "token_served"
	EventExchange           = "exchange"
	EventCredentialServed   = "credential_served"
	EventVerificationFailed = "verification_failed"
	EventPolicyDenied       = "policy_denied"
	EventLoginRequired      = "login_required"
)

// Outcomes.
const (
	OutcomeOK     = "ok"
	OutcomeError  = "error"
	OutcomeDenied = "denied"
)

// SchemaVersion is the "v" field of every line. Version 2 added the keyed
// chain (seq, prev as a MAC, mac) and replaced session_name by
// session_hash.
const SchemaVersion = 2

// Event is one audit record. Zero fields are omitted from the line.
type Event struct {
	// Time defaults to the logger's clock.
	Time time.Time
	// Event is one of the Event* names.
	Event string
	// Outcome is one of the Outcome* values.
	Outcome string
	// Profile and Environment name the configuration in use.
	Profile, Environment string
	// Source is the token source (device, browser, kubernetes, ...).
	Source string
	// Issuer is the token's iss claim.
	Issuer string
	// SubjectHash is Logger.SubjectHash(sub, iss). Any value that is not
	// such a hash is dropped, so a raw subject cannot be logged by mistake.
	SubjectHash string
	// Claims are passed through Logger.FilterClaims; only allow-listed,
	// non-secret claims are written.
	Claims map[string]any
	// Role and ServiceAccount describe the exchange.
	Role, ServiceAccount string
	// SessionName is the STS role session name. It is written only as
	// Logger.SessionHash(SessionName) ("session_hash"): a session name is
	// often made of personal claims. It is also cut out of Reason and
	// ErrorClass.
	SessionName string
	// CredentialExpiry is when the issued credentials expire.
	CredentialExpiry time.Time
	// RunID and JobName identify the Dagster run under exec.
	RunID, JobName string
	// ErrorClass is a short machine-readable class (e.g. "expired_token").
	ErrorClass string
	// Reason is a short human-readable explanation; never a token.
	Reason string
	// Unverified marks a token accepted without a signature check
	// (verify: when-reachable with the issuer unreachable, or verify: off).
	Unverified bool
	// Personal are values that name the person outside Claims (a user name
	// the caller holds): like the values of personal claims, they are cut
	// out of Reason and ErrorClass. Never written.
	Personal []string
}

// record is the serialised form of an Event, in the order fields appear in
// a line. The file sink appends "seq", "prev" and "mac".
type record struct {
	V                int            `json:"v"`
	Time             string         `json:"time"`
	Event            string         `json:"event"`
	Outcome          string         `json:"outcome,omitempty"`
	Profile          string         `json:"profile,omitempty"`
	Environment      string         `json:"environment,omitempty"`
	Source           string         `json:"source,omitempty"`
	Issuer           string         `json:"issuer,omitempty"`
	SubjectHash      string         `json:"subject_hash,omitempty"`
	Claims           map[string]any `json:"claims,omitempty"`
	Role             string         `json:"role,omitempty"`
	ServiceAccount   string         `json:"service_account,omitempty"`
	SessionHash      string         `json:"session_hash,omitempty"`
	CredentialExpiry string         `json:"credential_expiry,omitempty"`
	RunID            string         `json:"run_id,omitempty"`
	JobName          string         `json:"job_name,omitempty"`
	ErrorClass       string         `json:"error_class,omitempty"`
	Reason           string         `json:"reason,omitempty"`
	Unverified       bool           `json:"unverified,omitempty"`
}

// timeFormat is RFC 3339 in UTC with milliseconds, so lines sort as text.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

// maxString bounds every string written.
const maxString = 512

// secretPatterns match values that must never reach a sink.
// They compile on first use, and only when a string could match one
// (mayHoldSecret): most audit lines hold none, and compiling them would cost
// every credential_process start.
var secretPatterns = sync.OnceValue(func() []*regexp.Regexp {
	return []*regexp.Regexp{
		// a JWS/JWT: base64url JSON header "eyJ" and two more segments
		regexp.MustCompile(`eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*`),
		// an HTTP credential
		regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`),
		// an AWS secret access key or session token in key=value form
		regexp.MustCompile(`(?i)(secret_?access_?key|session_?token|refresh_?token|id_?token|access_?token|client_?secret)["']?\s*[:=]\s*["']?[^\s"',}]+`),
	}
})

// mayHoldSecret reports whether any secretPatterns could match s: it holds
// "eyJ"; or, ignoring ASCII case, "bearer" or "basic" and a space (the
// second pattern); or "token" or "secret" and a ':' or '=' (every
// alternative of the third pattern contains one of the words and needs the
// separator). So an event name such as "token_served" compiles nothing. A
// string with a non-ASCII byte is always checked, since (?i) also folds
// U+017F to s and U+212A to k.
func mayHoldSecret(s string) bool {
	if strings.Contains(s, "eyJ") {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	l := strings.ToLower(s)
	if (strings.Contains(l, "bearer") || strings.Contains(l, "basic")) && strings.ContainsAny(s, " \t\n\f\r") {
		return true
	}
	return (strings.Contains(l, "token") || strings.Contains(l, "secret")) && strings.ContainsAny(s, ":=")
}

// Redacted replaces a secret-looking value.
const Redacted = "[redacted]"

// scrub removes secret-looking substrings from s and bounds its length.
func scrub(s string) string {
	if mayHoldSecret(s) {
		for _, p := range secretPatterns() {
			s = p.ReplaceAllString(s, Redacted)
		}
	}
	if len(s) > maxString {
		s = s[:maxString] + "…"
	}
	return s
}

// marshal turns an event, already filtered, into its line; sessionHash
// stands for e.SessionName.
func marshal(e Event, sessionHash string) ([]byte, error) {
	return json.Marshal(record{
		V:                SchemaVersion,
		Time:             formatTime(e.Time),
		Event:            scrub(e.Event),
		Outcome:          scrub(e.Outcome),
		Profile:          scrub(e.Profile),
		Environment:      scrub(e.Environment),
		Source:           scrub(e.Source),
		Issuer:           scrub(e.Issuer),
		SubjectHash:      e.SubjectHash,
		Claims:           e.Claims,
		Role:             scrub(e.Role),
		ServiceAccount:   scrub(e.ServiceAccount),
		SessionHash:      sessionHash,
		CredentialExpiry: formatTime(e.CredentialExpiry),
		RunID:            scrub(e.RunID),
		JobName:          scrub(e.JobName),
		ErrorClass:       scrub(e.ErrorClass),
		Reason:           scrub(e.Reason),
		Unverified:       e.Unverified,
	})
}
