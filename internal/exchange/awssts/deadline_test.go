package awssts

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
)

// hungSTS answers the scripted answers, then takes every further call and
// never answers it: the handler blocks until the test ends. arrived
// receives the number of each call that hangs.
func hungSTS(t *testing.T, answers ...answer) (url string, arrived <-chan int) {
	t.Helper()
	stop := make(chan struct{})
	ch := make(chan int, 16)
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		n++
		call := n
		mu.Unlock()
		if call <= len(answers) {
			w.WriteHeader(answers[call-1].status)
			_, _ = w.Write([]byte(answers[call-1].body))
			return
		}
		ch <- call
		<-stop
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first: releases the handlers
	return srv.URL, ch
}

// endWhenHung is a withDeadline that ends the exchange as soon as a call
// hangs, as the real deadline would once it passes.
func endWhenHung(arrived <-chan int) func(context.Context, time.Duration) (context.Context, context.CancelFunc) {
	return func(ctx context.Context, _ time.Duration) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-arrived:
				cancel()
			case <-ctx.Done():
			}
		}()
		return ctx, cancel
	}
}

// TestIssue16_12_HungSTSOneDeadline: a hung STS ends the whole exchange at
// the client's deadline, not after attempts × the HTTP timeout, and the
// message gives the deadline, the attempt count and the last error.
func TestIssue16_12_HungSTSOneDeadline(t *testing.T) {
	tests := []struct {
		name    string
		answers []answer
		want    string
	}{
		{"hung from the first call", nil,
			"could not assume role " + testRole + ": STS did not answer within 20s (1 attempt, no answer)"},
		{"throttled, then hung", []answer{{400, "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"}},
			"could not assume role " + testRole + ": STS did not answer within 20s (2 attempts; last error: sts AssumeRoleWithWebIdentity failed: Throttling: Rate exceeded (HTTP 400))"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, arrived := hungSTS(t, tt.answers...)
			rec := &recorder{}
			c := rec.client(url)
			c.HTTP = &http.Client{} // no per-request timeout: only the deadline ends a hung call
			c.withDeadline = endWhenHung(arrived)
			_, err := c.AssumeRoleWithWebIdentity(t.Context(), validRequest(), rec.token)
			var de *DeadlineError
			if !errors.As(err, &de) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want a DeadlineError", err)
			}
			if err.Error() != tt.want {
				t.Errorf("message:\n got %s\nwant %s", err, tt.want)
			}
			if apperr.ExitCode(err) != 1 || apperr.HintOf(err) != "" {
				t.Errorf("exit %d, hint %q", apperr.ExitCode(err), apperr.HintOf(err))
			}
			if strings.Contains(err.Error(), testToken) {
				t.Error("the message leaks the token")
			}
		})
	}
}

// TestHungSTSInterruptedIsNotADeadline: Ctrl-C during a hung call is an
// interruption (exit 130), not a deadline.
func TestHungSTSInterruptedIsNotADeadline(t *testing.T) {
	url, arrived := hungSTS(t)
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-arrived; cancel() }()
	rec := &recorder{}
	c := rec.client(url)
	c.HTTP = &http.Client{}
	_, err := c.AssumeRoleWithWebIdentity(ctx, validRequest(), rec.token)
	var de *DeadlineError
	if errors.As(err, &de) || apperr.KindOf(err) != apperr.KindInterrupted {
		t.Fatalf("err = %v (kind %v), want an interruption", err, apperr.KindOf(err))
	}
}

// TestDeadlineRealTimer runs the real context.WithTimeout path against a
// hung STS with a tiny deadline: the outcome, not the time, is checked.
func TestDeadlineRealTimer(t *testing.T) {
	url, _ := hungSTS(t)
	rec := &recorder{}
	c := rec.client(url)
	c.HTTP = &http.Client{}
	c.Deadline = time.Millisecond
	_, err := c.AssumeRoleWithWebIdentity(t.Context(), validRequest(), rec.token)
	var de *DeadlineError
	if !errors.As(err, &de) || de.Deadline != time.Millisecond || de.Attempts != 1 {
		t.Fatalf("err = %v, want a DeadlineError after 1 attempt", err)
	}
}
