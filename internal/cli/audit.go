package cli

import (
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
	"github.com/dagster-oidc/dagster-oidc/internal/session"
)

// auditRecord is what a command reports to the audit trail.
type auditRecord struct {
	Event          string
	Outcome        string
	Source         string
	Claims         *flow.Claims
	Subject        string
	Role           string
	ServiceAccount string
	SessionName    string
	Expiry         time.Time
	Run            policy.Run
	Err            error
	// Unverified: the token was accepted without a signature check.
	Unverified bool
}

// served records that a token was handed out.
func (r *resolved) served(res *session.Result) {
	r.audit(auditRecord{Event: "token_served", Outcome: "ok", Source: res.Entry.Source, Subject: res.Entry.Subject, Expiry: res.Entry.Expiry, Unverified: res.Unverified != ""})
}

func (r *resolved) auditExchange(claims *flow.Claims, run policy.Run, role, session string, expiry time.Time, err error) {
	rec := auditRecord{Event: "exchange", Outcome: "ok", Claims: claims, Role: role, SessionName: session, Expiry: expiry, Run: run, Err: err}
	if err != nil {
		rec.Outcome = outcomeOf(err)
	}
	r.audit(rec)
}

func (r *resolved) auditPolicyDenied(claims *flow.Claims, run policy.Run, err error) {
	r.audit(auditRecord{Event: "policy_denied", Outcome: "denied", Claims: claims, Run: run, Err: err})
}

func (r *resolved) auditCredentialServed(event string, res *awsResult, runID, job string) {
	r.audit(auditRecord{Event: event, Outcome: "ok", Role: res.Entry.RoleARN, SessionName: res.Entry.SessionName, Expiry: res.Entry.Expiration, Run: policy.Run{ID: runID, Job: job}})
}
