package cache

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLockSerialisesHolders(t *testing.T) {
	dir := t.TempDir()
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := Lock(context.Background(), dir, "refresh.dev.abc", 10*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			for {
				m := maxInside.Load()
				if n <= m || maxInside.CompareAndSwap(m, n) {
					break
				}
			}
			// Hold the lock long enough that the others surely contend:
			// flock itself polls in real time, so this test cannot avoid it.
			time.Sleep(20 * time.Millisecond)
			inside.Add(-1)
			if err := unlock(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := maxInside.Load(); got != 1 {
		t.Errorf("%d holders at once, want 1", got)
	}
}

func TestLockKeysAreIndependent(t *testing.T) {
	dir := t.TempDir()
	unlockA, err := Lock(context.Background(), dir, "a", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlockA()
	unlockB, err := Lock(context.Background(), dir, "b", time.Second)
	if err != nil {
		t.Fatalf("lock b while a is held: %v", err)
	}
	if err := unlockB(); err != nil {
		t.Fatal(err)
	}
}

func TestLockTimeoutAndCancel(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(context.Background(), dir, "key", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	_, err = Lock(context.Background(), dir, "key", 60*time.Millisecond)
	var te *LockTimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("error = %v, want *LockTimeoutError", err)
	}
	wantPath := filepath.Join(dir, "locks", "key.lock")
	if want := "timed out after 60ms waiting for another dagster-oidc process holding " + wantPath; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Lock(ctx, dir, "key", time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Lock error = %v, want context.Canceled", err)
	}

	assertMode(t, dir, 0o700)
	assertMode(t, filepath.Join(dir, "locks"), 0o700)
	assertMode(t, wantPath, 0o600)
}

func TestLockReleaseLetsWaiterIn(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(context.Background(), dir, "key", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := Lock(context.Background(), dir, "key", 10*time.Second)
		if err == nil {
			err = u()
		}
		got <- err
	}()
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Errorf("waiter: %v", err)
	}
	if err := unlock(); err != nil {
		t.Errorf("second unlock = %v, want nil", err)
	}
}

// lockChildEnv marks the re-executed test binary that holds a lock for
// TestLockAcrossProcesses; its value is the cache directory.
const lockChildEnv = "DAGSTER_OIDC_TEST_LOCK_CHILD"

// lockChildKey is the key both processes lock.
const lockChildKey = "refresh.dev.abc"

// TestMain turns the re-executed test binary into the lock-holding child
// of TestLockAcrossProcesses.
func TestMain(m *testing.M) {
	if dir, ok := os.LookupEnv(lockChildEnv); ok {
		os.Exit(holdLock(dir))
	}
	os.Exit(m.Run())
}

// holdLock takes the lock, says "locked" on stdout and holds the lock until
// its stdin closes.
func holdLock(dir string) int {
	unlock, err := Lock(context.Background(), dir, lockChildKey, 10*time.Second)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := unlock(); err != nil {
		return 1
	}
	return 0
}

func TestLockAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("child said %q, %v; want locked", line, err)
	}

	_, err = Lock(context.Background(), dir, lockChildKey, 100*time.Millisecond)
	var te *LockTimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("Lock while another process holds it: %v, want *LockTimeoutError", err)
	}

	// Closing its stdin makes the child release the lock and exit.
	if err := stdin.Close(); err != nil {
		t.Fatal(err)
	}
	unlock, err := Lock(context.Background(), dir, lockChildKey, 10*time.Second)
	if err != nil {
		t.Fatalf("Lock after the child released it: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("child: %v", err)
	}
}
