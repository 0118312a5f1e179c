package cli

import "github.com/dagster-oidc/dagster-oidc/internal/session"

// served records that a token was handed out.
func (r *resolved) served(res *session.Result) {}

// close flushes what the resolved profile opened (the audit sinks).
func (r *resolved) close() {}
