package sandbox

import (
	"encoding/json"
	"maps"
	"sync"
	"time"
)

// maxSessions bounds Stats.STSSessions.
const maxSessions = 32

// Stats counts what the sandbox served since Start.
type Stats struct {
	// TokenRequests counts token endpoint requests by grant type:
	// "device_code", "authorization_code", "refresh_token" (other grant
	// types by their full name), including those answered slow_down or with
	// an error.
	TokenRequests map[string]int
	// SlowDowns counts device polls answered slow_down.
	SlowDowns int
	// RefreshReuses counts refresh tokens presented again after use.
	RefreshReuses int
	// GrantsRevoked counts grants revoked for reuse, revocation or logout.
	GrantsRevoked int
	// STSCalls counts STS emulator requests.
	STSCalls int
	// STSOutcomes counts STS answers by "Success" or error code.
	STSOutcomes map[string]int
	// STSSessions lists the last successful AssumeRoleWithWebIdentity
	// calls, oldest first.
	STSSessions []STSSession
}

// STSSession records one successful AssumeRoleWithWebIdentity call.
type STSSession struct {
	RoleARN         string
	RoleSessionName string
	Subject         string
	DurationSeconds int
	AccessKeyID     string
	Expiration      time.Time
	// Policy is the inline session policy sent, if any.
	Policy string
	// PolicyARNs are the managed session policies sent, if any.
	PolicyARNs []string
}

// recorder is the concurrency-safe Stats being filled.
type recorder struct {
	mu      sync.Mutex
	s       Stats
	secrets []Secret
}

// Secret is one token or key the sandbox handed out.
type Secret struct {
	// Kind is access_token, id_token, refresh_token (token endpoint),
	// minted_id_token (MintIDToken), sts_secret_access_key or
	// sts_session_token (STS emulator).
	Kind  string
	Value string
}

// issued records the string fields named of a token endpoint answer.
func (r *recorder) issued(resp map[string]json.RawMessage, fields ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range fields {
		var v string
		if json.Unmarshal(resp[f], &v) == nil && v != "" {
			r.secrets = append(r.secrets, Secret{Kind: f, Value: v})
		}
	}
}

// secret records one issued secret.
func (r *recorder) secret(kind, v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = append(r.secrets, Secret{Kind: kind, Value: v})
}

func newRecorder() *recorder {
	return &recorder{s: Stats{TokenRequests: map[string]int{}, STSOutcomes: map[string]int{}}}
}

func (r *recorder) update(f func(*Stats)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.s)
}

func (r *recorder) snapshot() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.s
	s.TokenRequests = maps.Clone(r.s.TokenRequests)
	s.STSOutcomes = maps.Clone(r.s.STSOutcomes)
	s.STSSessions = append([]STSSession(nil), r.s.STSSessions...)
	return s
}

func (r *recorder) addSession(sess STSSession) {
	r.update(func(s *Stats) {
		s.STSSessions = append(s.STSSessions, sess)
		if n := len(s.STSSessions); n > maxSessions {
			s.STSSessions = append([]STSSession(nil), s.STSSessions[n-maxSessions:]...)
		}
	})
}
