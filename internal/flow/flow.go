// Package flow holds the token sources of dagster-oidc: the human flows
// (device code, browser) and the workload identity sources (Kubernetes,
// web-identity files, GitHub Actions, GCP metadata, ...), and the verification
// of the ID tokens they return.
package flow

import (
	"context"
	"time"
)

// Token is an ID token as a source returned it, before verification.
type Token struct {
	// IDToken is the raw JWT.
	IDToken string
	// RefreshToken is empty for workload sources and for IdPs that issue none.
	RefreshToken string
	// Expiry is the ID token's exp claim (zero when unknown before verification).
	Expiry time.Time
	// Source names the source that produced the token ("device", "browser",
	// "kubernetes", ...).
	Source string
}

// Source produces an ID token.
type Source interface {
	// Name is the source's name as used in `flow:` ("device", "kubernetes", ...).
	Name() string
	// Token obtains a token. It never writes to stdout.
	Token(ctx context.Context) (*Token, error)
}

// Interactive reports whether a source needs a human at the keyboard.
type Interactive interface {
	Interactive() bool
}
