package cache

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// lockPoll is how often Lock retries a held lock.
const lockPoll = 50 * time.Millisecond

// LockTimeoutError reports that another process held a lock for longer
// than the caller was willing to wait.
type LockTimeoutError struct {
	// Path is the lock file.
	Path string
	// Wait is how long Lock waited.
	Wait time.Duration
}

// Error describes the wait.
func (e *LockTimeoutError) Error() string {
	return fmt.Sprintf("timed out after %s waiting for another dagster-oidc process holding %s", e.Wait, e.Path)
}

// Lock takes an exclusive, cross-process lock named by key, waiting up to
// wait (0 means until ctx ends), and returns the function that releases it.
// The lock file is <dir>/locks/<key>.lock next to, not on, the cache
// entries; dir is the user's private cache directory (0700), never a shared
// world-writable path. Lock files are left in place: removing one while
// another process waits on it would let two holders in.
//
// Once it holds the lock, Lock removes the temporary files that writers
// killed between create and rename left in dir (they may hold refresh
// tokens); see sweepStaleTemp.
//
// The token use case holds the lock around "read cache, refresh, write
// cache" so that two processes never spend the same rotating refresh token.
func Lock(ctx context.Context, dir, key string, wait time.Duration) (unlock func() error, err error) {
	return LockNotify(ctx, dir, key, wait, nil)
}

// LockNotify is Lock that calls waiting, when not nil, once it finds the
// lock held by another process and before it waits, so a command can say
// what it is waiting for.
func LockNotify(ctx context.Context, dir, key string, wait time.Duration, waiting func()) (unlock func() error, err error) {
	if err := EnsurePrivateDir(dir); err != nil {
		return nil, err
	}
	locks := filepath.Join(dir, "locks")
	if err := EnsurePrivateDir(locks); err != nil {
		return nil, err
	}
	path := filepath.Join(locks, safeName(key)+".lock")
	fl := flock.New(path, flock.SetPermissions(0o600))

	if waiting != nil {
		if ok, err := fl.TryLock(); err == nil && ok {
			sweepStaleTemp(dir, time.Now())
			return fl.Unlock, nil
		}
		waiting()
	}
	waitCtx := ctx
	if wait > 0 {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	ok, err := fl.TryLockContext(waitCtx, lockPoll)
	switch {
	case ok:
		// Modification times come from the file system's clock, so the
		// sweep compares them with the wall clock, not an injected one.
		sweepStaleTemp(dir, time.Now())
		return fl.Unlock, nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("could not lock %s: %w", path, ctx.Err())
	case errors.Is(err, context.DeadlineExceeded):
		return nil, &LockTimeoutError{Path: path, Wait: wait}
	case err != nil:
		return nil, fmt.Errorf("could not lock %s: %w", path, err)
	}
	return nil, fmt.Errorf("could not lock %s", path)
}
