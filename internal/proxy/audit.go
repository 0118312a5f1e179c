package proxy

import (
	"strings"

	"github.com/dagster-oidc/dagster-oidc/internal/audit"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/authz"
)

// Audit event names of the proxy.
const (
	eventSignIn   = "proxy_sign_in"
	eventRefused  = "proxy_refused"
	eventMutation = "proxy_mutation"
)

// refusal describes a refused request for its audit line.
type refusal struct {
	// class is "role", "no_role", "csrf", a gqlinspect reason, "too_large".
	class string
	need  authz.Role
	what  string
	check *authz.Check
}

// auditEvent writes one line. The subject is only ever the keyed hash; no
// name, email or token is written.
func (s *Server) auditEvent(event, outcome string, id *identity, source, class, reason string) {
	l := s.o.Audit
	if l == nil {
		return
	}
	e := audit.Event{Event: event, Outcome: outcome, Profile: s.o.Profile, Environment: s.o.Environment, Source: source, ErrorClass: class, Reason: reason}
	if id != nil {
		e.Issuer = id.Issuer
		e.SubjectHash = l.SubjectHash(id.Subject, id.Issuer)
		e.Role = id.Grants.String()
		if e.Source == "" {
			e.Source = id.Source
		}
	}
	l.Log(e)
}

func (s *Server) auditRefusal(id *identity, r refusal) {
	reason := r.what
	if c := r.check; c != nil {
		reason = describe("graphql", c.Operation, c.Mutations, c.Locations) + " field=" + c.Field + " needs=" + c.Need.String()
	} else if r.need > authz.None {
		reason += " needs=" + r.need.String()
	}
	s.auditEvent(eventRefused, audit.OutcomeDenied, id, "", r.class, reason)
}

func (s *Server) auditAllowed(id *identity, what, op string, mutations, locations []string, need authz.Role) {
	s.auditEvent(eventMutation, audit.OutcomeOK, id, "", "", describe(what, op, mutations, locations)+" needs="+need.String())
}

// describe is the "what" of an audit reason: operation, mutations and code
// locations, as key=value words.
func describe(what, op string, mutations, locations []string) string {
	var b strings.Builder
	b.WriteString(what)
	if op != "" {
		b.WriteString(" operation=" + op)
	}
	if len(mutations) > 0 {
		b.WriteString(" mutations=" + strings.Join(mutations, ","))
	}
	if len(locations) > 0 {
		b.WriteString(" locations=" + strings.Join(locations, ","))
	}
	return b.String()
}
