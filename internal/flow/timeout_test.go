package flow

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestTimeoutsReadAlike: the HTTP client's timeout and the caller's deadline
// give the same line, without the request's URL, and still unwrap to what
// fired; other transport errors keep Go's words.
func TestTimeoutsReadAlike(t *testing.T) {
	stall := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(stall.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name             string
		url              string
		client           *http.Client
		deadline         time.Duration
		want             string
		deadlineExceeded bool
	}{
		{name: "the client's timeout", url: stall.URL, client: &http.Client{Timeout: 50 * time.Millisecond}, want: "timed out waiting for an answer"},
		{name: "the caller's deadline", url: stall.URL, client: &http.Client{}, deadline: 50 * time.Millisecond, want: "timed out waiting for an answer", deadlineExceeded: true},
		{name: "refused", url: closed.URL, client: &http.Client{}, want: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, tt.url+"/token?code=secret", nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tt.client.Do(req)
			got := redactURLError(err)
			if got == nil || !strings.Contains(got.Error(), tt.want) || strings.Contains(got.Error(), "secret") || strings.Contains(got.Error(), "Client.Timeout") {
				t.Fatalf("redactURLError(%v) = %v, want %q without the URL", err, got, tt.want)
			}
			var te *TimeoutError
			if isTimeout := errors.As(got, &te); isTimeout != (tt.want == "timed out waiting for an answer") {
				t.Errorf("TimeoutError: %v", isTimeout)
			}
			if tt.deadlineExceeded && !errors.Is(got, context.DeadlineExceeded) {
				t.Errorf("%v does not unwrap to context.DeadlineExceeded", got)
			}
		})
	}
}
