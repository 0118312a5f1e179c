package interrupt

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"
)

// fakeSignals records subscriptions and delivers signals by hand.
type fakeSignals struct {
	mu      sync.Mutex
	subs    []chan<- os.Signal
	sigs    []os.Signal
	stopped int
}

func (f *fakeSignals) notifier() Notifier {
	return Notifier{
		Notify: func(c chan<- os.Signal, sig ...os.Signal) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.subs = append(f.subs, c)
			f.sigs = sig
		},
		Stop: func(chan<- os.Signal) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.stopped++
		},
	}
}

func (f *fakeSignals) subscriptions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

func (f *fakeSignals) send(t *testing.T, s os.Signal) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.subs) == 0 {
		t.Fatal("a signal was sent with nobody subscribed")
	}
	f.subs[0] <- s
}

func TestContext(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first func(ctx context.Context) context.Context // what first touches the context
	}{
		{"Done", func(ctx context.Context) context.Context { ctx.Done(); return ctx }},
		{"Err", func(ctx context.Context) context.Context { _ = ctx.Err(); return ctx }},
		{"a child context", func(ctx context.Context) context.Context {
			child, cancel := context.WithCancel(ctx)
			t.Cleanup(cancel)
			return child
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f fakeSignals
			ctx, stop := Context(context.Background(), f.notifier(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			_ = ctx.Value("anything")
			if n := f.subscriptions(); n != 0 {
				t.Fatalf("subscribed %d times before anything waited on the context", n)
			}
			waiter := tc.first(ctx)
			ctx.Done()
			_ = ctx.Err()
			if n := f.subscriptions(); n != 1 {
				t.Fatalf("subscribed %d times, want 1", n)
			}
			if len(f.sigs) != 2 || f.sigs[0] != os.Interrupt || f.sigs[1] != syscall.SIGTERM {
				t.Errorf("subscribed to %v, want interrupt and SIGTERM", f.sigs)
			}
			if err := waiter.Err(); err != nil {
				t.Fatalf("cancelled before any signal: %v", err)
			}
			f.send(t, syscall.SIGTERM)
			<-waiter.Done()
			if err := waiter.Err(); !errors.Is(err, context.Canceled) {
				t.Errorf("Err() = %v after the signal, want context.Canceled", err)
			}
			stop()
			if f.stopped != 1 {
				t.Errorf("stop unsubscribed %d times, want 1", f.stopped)
			}
		})
	}
}

func TestStopBeforeUse(t *testing.T) {
	var f fakeSignals
	ctx, stop := Context(context.Background(), f.notifier(), os.Interrupt)
	stop()
	<-ctx.Done()
	if err := ctx.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err() = %v after stop, want context.Canceled", err)
	}
	if n := f.subscriptions(); n != 0 || f.stopped != 0 {
		t.Errorf("a context stopped before use subscribed %d times and unsubscribed %d times, want 0 and 0", n, f.stopped)
	}
}

func TestParentCancellation(t *testing.T) {
	var f fakeSignals
	parent, cancel := context.WithCancel(context.Background())
	ctx, stop := Context(parent, f.notifier(), os.Interrupt)
	defer stop()
	ctx.Done()
	cancel()
	<-ctx.Done()
	if err := ctx.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err() = %v after the parent was cancelled, want context.Canceled", err)
	}
}
