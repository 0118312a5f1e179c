package cli

import (
	"github.com/dagster-oidc/dagster-oidc/internal/credentials"
	"github.com/dagster-oidc/dagster-oidc/internal/policy"
	"github.com/dagster-oidc/dagster-oidc/internal/session"
)

// auditRecord is what a command reports to the audit trail.
type auditRecord = credentials.Record

// Observe records what a use case reports.
func (r *resolved) Observe(rec credentials.Record) { r.audit(rec) }

// served records that a token was handed out.
func (r *resolved) served(res *session.Result) {
	r.audit(auditRecord{Event: "token_served", Outcome: "ok", Source: res.Entry.Source, Subject: res.Entry.Subject, Expiry: res.Entry.Expiry, Unverified: res.Unverified != ""})
}

// credentialServed records that AWS credentials were handed out.
func (r *resolved) credentialServed(res *credentials.AWSResult, run policy.Run) {
	r.audit(auditRecord{Event: "credential_served", Outcome: "ok", Role: res.Entry.RoleARN, SessionName: res.Entry.SessionName, Expiry: res.Entry.Expiration, Run: policy.Run{ID: run.ID, Job: run.Job}})
}
