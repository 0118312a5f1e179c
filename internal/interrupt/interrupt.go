// Package interrupt gives the process a context that Ctrl-C and SIGTERM
// cancel, like signal.NotifyContext, but subscribes to the signals only when
// something first waits on the context.
//
// signal.Notify starts two goroutines, one of them locked to its own OS
// thread; on the warm path of `aws credential-process` (a process start per
// AWS client, nothing to wait for) that thread is a measurable share of the
// whole run (docs/performance.md). Until code asks for Done or Err, nothing
// in the process is waiting to be cancelled, and a signal keeps its default
// action: the process ends at once, as it would have at its next check.
package interrupt

import (
	"context"
	"os"
	"os/signal"
	"sync"
)

// Notifier subscribes and unsubscribes a channel; signal.Notify and
// signal.Stop in the process, fakes in tests.
type Notifier struct {
	Notify func(c chan<- os.Signal, sig ...os.Signal)
	Stop   func(c chan<- os.Signal)
}

// OS is the process's own signal delivery.
var OS = Notifier{Notify: signal.Notify, Stop: signal.Stop}

// lazyContext is a cancelable context that starts watching for signals at
// the first call of Done or Err.
type lazyContext struct {
	context.Context // from context.WithCancel: Value still finds its cancelCtx, so children attach to it directly
	once            sync.Once
	watch           func()
}

func (c *lazyContext) Done() <-chan struct{} {
	c.once.Do(c.watch)
	return c.Context.Done()
}

func (c *lazyContext) Err() error {
	c.once.Do(c.watch)
	return c.Context.Err()
}

// Context returns a context that is cancelled when one of sigs arrives after
// its Done or Err was first called, and a stop function that unsubscribes
// and cancels it (call it when the program is done). As with
// signal.NotifyContext, later signals are swallowed until stop.
func Context(parent context.Context, n Notifier, sigs ...os.Signal) (context.Context, context.CancelFunc) {
	inner, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 1)
	var subscribed bool
	var mu sync.Mutex
	ctx := &lazyContext{Context: inner}
	ctx.watch = func() {
		mu.Lock()
		defer mu.Unlock()
		if inner.Err() != nil {
			return
		}
		subscribed = true
		n.Notify(ch, sigs...)
		go func() {
			select {
			case <-ch:
				cancel()
			case <-inner.Done():
			}
		}()
	}
	stop := func() {
		mu.Lock()
		defer mu.Unlock()
		cancel()
		if subscribed {
			n.Stop(ch)
		}
	}
	return ctx, stop
}
