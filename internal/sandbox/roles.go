package sandbox

import (
	"path"
	"time"
)

// Demo role ARNs, in the account 000000000000 that exists nowhere.
const (
	DemoDataEngRoleARN  = "arn:aws:iam::000000000000:role/data-eng"
	DemoAnalystRoleARN  = "arn:aws:iam::000000000000:role/analyst"
	DemoPipelineRoleARN = "arn:aws:iam::000000000000:role/pipeline"
	DemoCIRoleARN       = "arn:aws:iam::000000000000:role/ci"
	// DemoCIAudience is the aud the ci role trusts: what GitHub Actions
	// workflows ask for when they assume an AWS role.
	DemoCIAudience = "sts.amazonaws.com"
)

// Role is an IAM role as the STS emulator's trust policy sees it.
type Role struct {
	ARN string
	// Audience is the `aud` the token must carry; default the client ID.
	Audience string
	// SubjectPattern is matched against `sub`: "*" (the default) matches any
	// subject, anything else is a path.Match pattern.
	SubjectPattern string
	// MaxDuration is the role's MaxSessionDuration; default 1h.
	MaxDuration time.Duration
	// When is the dagster-oidc rule expression printed with this role in the
	// generated config; the STS emulator does not evaluate it. Roles without
	// one are left out of the generated config.
	When string
}

// DemoRoles returns the data-eng and analyst roles, trusted for any subject
// with the client ID as audience, a pipeline role for workload identities
// (sub "system:serviceaccount:*") and a ci role for the GitHub
// Actions-style tokens (aud DemoCIAudience, sub "repo:sandbox/*").
func DemoRoles() []Role {
	return []Role{
		{ARN: DemoDataEngRoleARN, MaxDuration: 12 * time.Hour, When: "'data-eng' in claims.groups"},
		{ARN: DemoAnalystRoleARN, MaxDuration: 12 * time.Hour, When: "'analysts' in claims.groups"},
		{ARN: DemoPipelineRoleARN, SubjectPattern: "system:serviceaccount:*", MaxDuration: 12 * time.Hour},
		{ARN: DemoCIRoleARN, Audience: DemoCIAudience, SubjectPattern: "repo:sandbox/*", MaxDuration: time.Hour},
	}
}

// trustsSubject reports whether the role's subject condition admits sub.
func (r Role) trustsSubject(sub string) bool {
	if r.SubjectPattern == "*" {
		return true
	}
	ok, err := path.Match(r.SubjectPattern, sub)
	return err == nil && ok
}
