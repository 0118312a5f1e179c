package sandbox

import (
	"io"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

// Defaults applied by Start to the zero fields of Options.
const (
	DefaultAddr               = "127.0.0.1:0"
	DefaultClientID           = "dagster-oidc"
	DefaultIDTokenLifetime    = 10 * time.Minute
	DefaultDevicePollInterval = time.Second
	DefaultDeviceCodeLifetime = 5 * time.Minute
	DefaultRefreshLifetime    = 24 * time.Hour
	// DefaultMinDuration is AWS STS's lower bound for DurationSeconds.
	DefaultMinDuration = 900 * time.Second
	// MaxDuration is AWS STS's upper bound for DurationSeconds.
	MaxDuration = 43200 * time.Second
	// DefaultRoleMaxDuration is AWS's default MaxSessionDuration of a role.
	DefaultRoleMaxDuration = time.Hour
)

// Options configures one sandbox Server. The zero value is a usable sandbox
// with the demo users and roles.
type Options struct {
	// Addr is the listen address; default "127.0.0.1:0" (an ephemeral port).
	Addr string
	// ClientID is the one registered client: a public native client allowed
	// the device code, authorization code (+PKCE, any loopback redirect port
	// and path) and refresh_token grants. Default "dagster-oidc".
	ClientID string
	// Users can log in; default DemoUsers().
	Users []User
	// Roles are what the STS emulator trusts; default DemoRoles().
	Roles []Role
	// IDTokenLifetime is the lifetime of ID and access tokens; default 10m.
	IDTokenLifetime time.Duration
	// DevicePollInterval is the `interval` of device authorization
	// responses; default 1s. RFC 8628 counts it in whole seconds, so it is
	// rounded up to at least one second.
	DevicePollInterval time.Duration
	// RotateRefreshTokens makes each refresh return a new refresh token and
	// invalidate the one presented. Without it a refresh token stays valid
	// and is returned again.
	RotateRefreshTokens bool
	// RevokeOnRefreshReuse revokes the whole grant (every refresh and access
	// token of that login) when an already used refresh token is presented,
	// as Okta, Auth0 and node oidc-provider do (RFC 9700 §4.14.2).
	RevokeOnRefreshReuse bool
	// SlowDownPolls is how many device-code polls, counted from the start,
	// are answered with `slow_down` (RFC 8628 §3.5).
	SlowDownPolls int
	// OmitIDTokenOnRefresh removes id_token from refresh responses
	// (allowed by OIDC Core §12.2).
	OmitIDTokenOnRefresh bool
	// STSThrottle is how many STS calls, counted from the start, are answered
	// with a Throttling error.
	STSThrottle int
	// MinDuration is the smallest DurationSeconds the STS emulator accepts;
	// default 900s as in AWS. SANDBOX ONLY: tests lower it (e.g. to 60s) to
	// get short-lived credentials; real STS never accepts less than 900s.
	MinDuration time.Duration
	// Clock drives the STS emulator's expiry checks and credential
	// expirations and MintIDToken's iat/exp; default the real clock. The
	// OpenID provider itself always uses the real clock.
	Clock clock.Clock
	// Logger receives one line per HTTP request; nil discards them.
	Logger io.Writer
}

func (o Options) withDefaults() Options {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.Users == nil {
		o.Users = DemoUsers()
	}
	if o.Roles == nil {
		o.Roles = DemoRoles()
	}
	if o.IDTokenLifetime <= 0 {
		o.IDTokenLifetime = DefaultIDTokenLifetime
	}
	if o.DevicePollInterval <= 0 {
		o.DevicePollInterval = DefaultDevicePollInterval
	}
	o.DevicePollInterval = o.DevicePollInterval.Round(time.Second)
	if o.DevicePollInterval < time.Second {
		o.DevicePollInterval = time.Second
	}
	if o.MinDuration <= 0 {
		o.MinDuration = DefaultMinDuration
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = io.Discard
	}
	roles := make([]Role, len(o.Roles))
	for i, r := range o.Roles {
		if r.Audience == "" {
			r.Audience = o.ClientID
		}
		if r.SubjectPattern == "" {
			r.SubjectPattern = "*"
		}
		if r.MaxDuration <= 0 {
			r.MaxDuration = DefaultRoleMaxDuration
		}
		roles[i] = r
	}
	o.Roles = roles
	return o
}
