package awssts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/safehttp"
)

// Defaults of the zero Client.
const (
	// DefaultMaxAttempts bounds the calls made for one exchange, not counting
	// the one retry with a fresh token after InvalidIdentityToken.
	DefaultMaxAttempts = 4
	// DefaultMaxResponseBytes caps how much of an STS answer is read. A
	// session token has no documented maximum size, so this is generous.
	DefaultMaxResponseBytes int64 = 1 << 20
	// DefaultTimeout is the per-request timeout of the client used when
	// Client.HTTP is nil.
	DefaultTimeout = 30 * time.Second
	// DefaultDeadline bounds a whole exchange: every attempt and back-off.
	// It stays well under the time the SDKs give a credential process
	// (aws-sdk-go-v2's processcreds kills it after one minute), so the
	// process reports why instead of being killed without a word.
	DefaultDeadline = 20 * time.Second

	baseDelay = 250 * time.Millisecond
	maxDelay  = 5 * time.Second
)

// Client calls STS AssumeRoleWithWebIdentity. The zero value needs only a
// Region; every side effect can be replaced for tests.
type Client struct {
	// HTTP sends the request; nil means a client with DefaultTimeout.
	HTTP *http.Client
	// Endpoint is the STS URL; "" means the regional endpoint
	// https://sts.<Region>.amazonaws.com/ (.amazonaws.com.cn in China).
	Endpoint string
	// Region selects the regional endpoint when Endpoint is "".
	Region string
	// MaxAttempts bounds the attempts of one exchange; 0 means
	// DefaultMaxAttempts.
	MaxAttempts int
	// Sleep waits between attempts and returns early with ctx's error; nil
	// means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter randomises a back-off delay; nil means a uniform delay in
	// [d/2, d].
	Jitter func(d time.Duration) time.Duration
	// MaxResponseBytes caps the answer read; 0 means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// Deadline bounds the whole exchange (every call to STS and the waits
	// between them; not the first ID token, which may need a login); 0
	// means DefaultDeadline.
	Deadline time.Duration

	// withDeadline derives the exchange's context; nil means
	// context.WithTimeout. Tests replace it to end the exchange at a
	// chosen moment instead of after a real wait.
	withDeadline func(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

// DeadlineError reports that an exchange did not finish within the
// client's Deadline.
type DeadlineError struct {
	// Deadline is the bound that was reached.
	Deadline time.Duration
	// Attempts is how many calls to STS were started.
	Attempts int
	// Last is the failure of the last call that got one; nil when every
	// call was still waiting for an answer.
	Last error
}

// Error names the deadline, the attempt count and the last error.
func (e *DeadlineError) Error() string {
	plural := "s"
	if e.Attempts == 1 {
		plural = ""
	}
	if e.Last == nil {
		return fmt.Sprintf("STS did not answer within %s (%d attempt%s, no answer)", e.Deadline, e.Attempts, plural)
	}
	return fmt.Sprintf("STS did not answer within %s (%d attempt%s; last error: %v)", e.Deadline, e.Attempts, plural, e.Last)
}

// Unwrap returns context.DeadlineExceeded.
func (e *DeadlineError) Unwrap() error { return context.DeadlineExceeded }

// TokenFunc returns the ID token to present. It is called with fresh false
// first; after STS answers InvalidIdentityToken it is called once with fresh
// true, and should then bypass any cache.
type TokenFunc func(ctx context.Context, fresh bool) (string, error)

// AssumeRoleWithWebIdentity exchanges the token for credentials of
// r.RoleARN.
//
// A request that breaks STS's limits fails before any call with a usage
// error (a *RequestError, or an *EndpointError without a usable endpoint). IDPCommunicationError, throttling, 5xx answers and transport errors
// are retried with exponential back-off and jitter, at most MaxAttempts
// calls in all. InvalidIdentityToken is retried exactly once, with a token
// from token(ctx, true). AccessDenied, InvalidIdentityToken (after that
// retry), ExpiredTokenException and IDPRejectedClaim are returned wrapped in
// apperr.Denied; the *Error (or *DeadlineError) stays reachable with
// errors.As, and carries no advice: the caller chooses the hint.
func (c *Client) AssumeRoleWithWebIdentity(ctx context.Context, r Request, token func(ctx context.Context, fresh bool) (string, error)) (*Credentials, error) {
	if err := r.validate(); err != nil {
		return nil, apperr.Usage(fmt.Errorf("could not assume role: %w", &RequestError{Err: err}), "")
	}
	endpoint, err := c.endpoint()
	if err != nil {
		return nil, apperr.Usage(fmt.Errorf("could not assume role %s: %w", r.RoleARN, &EndpointError{Err: err}), "")
	}
	tok, err := getToken(ctx, token, false)
	if err != nil {
		return nil, err
	}
	maxAttempts := c.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	deadline := c.Deadline
	if deadline <= 0 {
		deadline = DefaultDeadline
	}
	withDeadline := c.withDeadline
	if withDeadline == nil {
		withDeadline = context.WithTimeout
	}
	callCtx, cancel := withDeadline(ctx, deadline)
	defer cancel()
	// ended turns the end of callCtx into the error to return: the
	// caller's cancellation (Ctrl-C, SIGTERM) as such, else the deadline.
	attempts := 0
	var last error
	ended := func() error {
		if ctx.Err() != nil {
			return fmt.Errorf("could not assume role %s: %w", r.RoleARN, ctx.Err())
		}
		return fmt.Errorf("could not assume role %s: %w", r.RoleARN, &DeadlineError{Deadline: deadline, Attempts: attempts, Last: last})
	}
	freshTried := false
	failures := 0
	for {
		attempts++
		creds, err := c.call(callCtx, endpoint, r.form(tok).Encode(), tok)
		if err == nil {
			return creds, nil
		}
		if callCtx.Err() != nil {
			return nil, ended()
		}
		last = err
		var stsErr *Error
		if errors.As(err, &stsErr) && stsErr.Code == CodeInvalidIdentityToken && !freshTried {
			freshTried = true
			if tok, err = getToken(ctx, token, true); err != nil {
				return nil, err
			}
			continue
		}
		failures++
		if !retryable(err) || failures >= maxAttempts {
			return nil, classify(r.RoleARN, err, failures)
		}
		if err := c.sleep(callCtx, c.backoff(failures)); err != nil {
			if callCtx.Err() != nil {
				return nil, ended()
			}
			return nil, fmt.Errorf("could not assume role %s: %w", r.RoleARN, err)
		}
	}
}

// getToken asks for a token and checks its length.
func getToken(ctx context.Context, token TokenFunc, fresh bool) (string, error) {
	tok, err := token(ctx, fresh)
	if err != nil {
		return "", fmt.Errorf("could not get an ID token for STS: %w", err)
	}
	if err := validToken(tok); err != nil {
		return "", fmt.Errorf("could not use the ID token for STS: %w", err)
	}
	return tok, nil
}

// transportError marks a failure to get an answer at all; it is retryable.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// retryable reports whether err may go away on its own.
func retryable(err error) bool {
	var stsErr *Error
	if errors.As(err, &stsErr) {
		return stsErr.retryable()
	}
	var tErr *transportError
	return errors.As(err, &tErr)
}

// classify wraps the final error with the role and the exit-code kind.
func classify(roleARN string, err error, attempts int) error {
	var stsErr *Error
	if errors.As(err, &stsErr) {
		wrapped := fmt.Errorf("could not assume role %s: %w", roleARN, err)
		if stsErr.denied() {
			return apperr.Denied(wrapped, "")
		}
		return wrapped
	}
	var tErr *transportError
	if errors.As(err, &tErr) {
		return fmt.Errorf("could not reach STS to assume role %s after %d attempts: %w", roleARN, attempts, err)
	}
	return fmt.Errorf("could not assume role %s: %w", roleARN, err)
}

// call makes one POST and interprets the answer.
func (c *Client) call(ctx context.Context, endpoint, body, token string) (*Credentials, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("could not build the STS request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("Accept", "text/xml")
	req.Header.Set("User-Agent", "dagster-oidc")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, &transportError{err: err}
	}
	defer resp.Body.Close()
	limit := c.MaxResponseBytes
	if limit <= 0 {
		limit = DefaultMaxResponseBytes
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, &transportError{err: fmt.Errorf("could not read the STS answer: %w", err)}
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("the STS answer is larger than %d bytes", limit)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, parseError(resp.StatusCode, data, token)
	}
	return parseSuccess(data)
}

// endpoint resolves the STS URL.
func (c *Client) endpoint() (string, error) {
	if c.Endpoint != "" {
		if err := CheckEndpoint(c.Endpoint); err != nil {
			return "", err
		}
		return c.Endpoint, nil
	}
	if c.Region == "" {
		return "", errors.New("no AWS region is set for STS")
	}
	if err := CheckRegion(c.Region); err != nil {
		return "", err
	}
	suffix := "amazonaws.com"
	if strings.HasPrefix(c.Region, "cn-") {
		suffix = "amazonaws.com.cn"
	}
	return "https://sts." + c.Region + "." + suffix + "/", nil
}

// httpClient follows no redirect: a 307/308 would re-send the
// WebIdentityToken to the Location's host (issue 15.5).
func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return safehttp.NoRedirects(c.HTTP)
	}
	return safehttp.NoRedirects(&http.Client{Timeout: DefaultTimeout})
}

// backoff returns the delay after the n-th failure (n ≥ 1): 250 ms doubling
// up to 5 s, then jittered.
func (c *Client) backoff(n int) time.Duration {
	d := baseDelay
	for i := 1; i < n && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	if c.Jitter != nil {
		return c.Jitter(d)
	}
	return d/2 + rand.N(d/2+1)
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	return clock.Sleep(ctx, d)
}
