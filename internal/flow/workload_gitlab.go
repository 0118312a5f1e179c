package flow

import (
	"context"
	"fmt"
)

// gitLabSource reads a GitLab CI ID token from the variable that the job's
// `id_tokens:` keyword declares (GitLab 15.7+; the legacy CI_JOB_JWT variables
// were removed in 17.0).
type gitLabSource struct {
	envVar string
	o      WorkloadOptions
}

// Name returns "gitlab".
func (s *gitLabSource) Name() string { return SourceGitLab }

// Interactive returns false: no human is needed.
func (s *gitLabSource) Interactive() bool { return false }

// Token reads and checks the variable.
func (s *gitLabSource) Token(ctx context.Context) (*Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	where := "variable " + s.envVar
	raw, ok := s.o.Env(s.envVar)
	if !ok {
		return nil, workloadFail(SourceGitLab, where, s.envVar, CauseUnset, fmt.Errorf("%s is not set", s.envVar))
	}
	tok, err := workloadToken(SourceGitLab, raw, s.o)
	if err != nil {
		return nil, workloadFail(SourceGitLab, where, s.envVar, CauseFailed, err)
	}
	return tok, nil
}
