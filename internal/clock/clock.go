// Package clock abstracts the current time so that expiry decisions can be
// tested without waiting.
package clock

import (
	"context"
	"time"
)

// Clock tells the current time.
type Clock interface {
	Now() time.Time
}

// Real is the system clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Fake is a fixed point in time, for tests.
type Fake time.Time

// Now returns the fixed time.
func (f Fake) Now() time.Time { return time.Time(f) }

// Func adapts a function to Clock.
type Func func() time.Time

// Now calls f.
func (f Func) Now() time.Time { return f() }

// Sleep waits for d or until ctx is done, and then returns ctx's error. It
// is the one wait-or-cancel of the program: pollers, retries and refresh
// loops take it as their default sleeper.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
