package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/safehttp"
)

// gitHubAttempts bounds the requests to the GitHub token endpoint; the
// actions/toolkit client retries too, since the endpoint sheds load with 5xx.
const gitHubAttempts = 5

// gitHubTimeout is the default time one request may take.
const gitHubTimeout = 10 * time.Second

// gitHubSource asks the GitHub Actions runtime for an ID token
// (specs.md §4; actions/toolkit oidc-utils.ts). The runtime sets
// ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN only for
// jobs with `permissions: id-token: write`.
type gitHubSource struct {
	o WorkloadOptions
}

// Name returns "github-actions".
func (s *gitHubSource) Name() string { return SourceGitHubActions }

// Interactive returns false: no human is needed.
func (s *gitHubSource) Interactive() bool { return false }

// Token fetches an ID token for the configured audience, retrying 5xx answers
// and transport errors but a refused redirect with exponential back-off (1s,
// 2s, 4s, 8s).
func (s *gitHubSource) Token(ctx context.Context) (*Token, error) {
	reqURL, okURL := s.o.lookup(envGitHubRequestURL)
	reqToken, okToken := s.o.lookup(envGitHubRequestToken)
	switch {
	case !okURL:
		return nil, workloadFail(SourceGitHubActions, "variable "+envGitHubRequestURL, envGitHubRequestURL, CauseUnset, fmt.Errorf("%s is not set", envGitHubRequestURL))
	case !okToken:
		return nil, workloadFail(SourceGitHubActions, "variable "+envGitHubRequestToken, envGitHubRequestToken, CauseUnset, fmt.Errorf("%s is not set", envGitHubRequestToken))
	}
	where := "endpoint from " + envGitHubRequestURL
	fail := func(err error) (*Token, error) {
		return nil, workloadFail(SourceGitHubActions, where, "", CauseFailed, err)
	}

	timeout := s.o.Timeout
	if timeout <= 0 {
		timeout = gitHubTimeout
	}
	header := http.Header{
		"Authorization": {"bearer " + reqToken},
		"Accept":        {"application/json"},
	}
	target := gitHubTokenURL(reqURL, s.o.Audience)
	var (
		status int
		body   []byte
		err    error
	)
	for attempt := 1; ; attempt++ {
		status, body, err = workloadGet(ctx, s.o.HTTP, timeout, target, header)
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		// A refused redirect stays refused: no retry (issue 15.5).
		var redirected *safehttp.RedirectError
		if (err == nil && status < 500) || errors.Is(err, errWorkloadTooLarge) || errors.As(err, &redirected) {
			break
		}
		if err == nil {
			err = fmt.Errorf("the endpoint answered %d %s", status, http.StatusText(status))
		}
		if attempt == gitHubAttempts {
			return fail(fmt.Errorf("gave up after %d attempts: %w", attempt, err))
		}
		if serr := s.o.Sleep(ctx, time.Second<<(attempt-1)); serr != nil {
			return fail(serr)
		}
	}
	if err != nil {
		return fail(err)
	}
	if status != http.StatusOK {
		return fail(fmt.Errorf("the endpoint answered %d %s", status, http.StatusText(status)))
	}
	var answer struct {
		Value string `json:"value"`
	}
	if json.Unmarshal(body, &answer) != nil {
		return fail(errors.New(`the answer is not the expected JSON {"value": "<JWT>"}`))
	}
	if answer.Value == "" {
		return fail(errors.New(`the answer has no "value"`))
	}
	tok, err := workloadToken(SourceGitHubActions, answer.Value, s.o)
	if err != nil {
		return fail(err)
	}
	return tok, nil
}

// gitHubTokenURL appends the audience to the request URL, which usually
// already carries a query (?api-version=2.0). Without an audience GitHub uses
// the repository owner's URL.
func gitHubTokenURL(reqURL, audience string) string {
	if audience == "" {
		return reqURL
	}
	sep := "?"
	switch {
	case strings.HasSuffix(reqURL, "?") || strings.HasSuffix(reqURL, "&"):
		sep = ""
	case strings.Contains(reqURL, "?"):
		sep = "&"
	}
	return reqURL + sep + "audience=" + url.QueryEscape(audience)
}
