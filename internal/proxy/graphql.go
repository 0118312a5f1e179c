package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/dagster-oidc/dagster-oidc/internal/proxy/authz"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/gqlinspect"
)

// decideRequests checks every GraphQL request of one HTTP request or
// WebSocket message. The first refusal decides; allowed is true only when
// every operation of every document is allowed.
func decideRequests(id *identity, reqs []gqlinspect.Request) (checks []authz.Check, refused *authz.Check, err error) {
	for _, r := range reqs {
		ops, err := gqlinspect.Operations(r)
		if err != nil {
			return nil, nil, err
		}
		c := authz.CheckOperations(id.Grants, ops)
		checks = append(checks, c)
		if !c.Allowed && refused == nil {
			refused = &checks[len(checks)-1]
		}
	}
	return checks, refused, nil
}

// graphql inspects an HTTP GraphQL request and passes it on only when every
// operation in it is allowed.
func (s *Server) graphql(w http.ResponseWriter, r *http.Request, id *identity) {
	var body []byte
	if r.Body != nil && r.Method != "GET" && r.Method != "HEAD" {
		_ = http.NewResponseController(w).SetReadDeadline(s.o.Clock.Now().Add(DefaultBodyTimeout))
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				s.auditRefusal(id, refusal{class: "too_large", what: "graphql"})
				graphQLError(w, http.StatusRequestEntityTooLarge, "dagster-oidc: the request body is larger than the proxy's limit", "TOO_LARGE", nil, 1, false)
				return
			}
			http.Error(w, "could not read the request body", http.StatusBadRequest)
			return
		}
		body = b
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
	}
	if r.Method == "GET" && strings.Contains(r.Header.Get("Accept"), "text/html") && !strings.Contains(r.URL.RawQuery, "query=") {
		// GraphiQL's page, which runs nothing by itself.
		s.rp.ServeHTTP(w, withIdentity(r, id))
		return
	}
	reqs, err := gqlinspect.FromHTTP(r.Method, r.Header.Get("Content-Type"), r.URL.RawQuery, body)
	batch := bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("["))
	if err == nil {
		var checks []authz.Check
		var refused *authz.Check
		checks, refused, err = decideRequests(id, reqs)
		if err == nil {
			if refused != nil {
				s.auditRefusal(id, refusal{class: "role", check: refused})
				msg := refusalMessage(id, *refused)
				if !batch && len(reqs) == 1 && writeRefusedData(w, reqs[0], msg) {
					return
				}
				graphQLError(w, http.StatusOK, msg, "FORBIDDEN",
					map[string]any{"requiredRole": refused.Need.String(), "user": id.Name, "field": refused.Field}, len(reqs), batch)
				return
			}
			mutates := false
			for _, c := range checks {
				mutates = mutates || len(c.Mutations) > 0
			}
			if mutates && id.Source == sourceSession && (r.Method == "GET" || !s.sameOrigin(r)) {
				// A cookie rides along on cross-site requests (and on
				// top-level GET navigations under SameSite=Lax).
				s.auditRefusal(id, refusal{class: "csrf", what: "graphql"})
				graphQLError(w, http.StatusForbidden, "dagster-oidc: cross-site request refused: a mutation with the session cookie needs a same-origin POST", "CSRF", nil, len(reqs), batch)
				return
			}
			for _, c := range checks {
				if len(c.Mutations) > 0 {
					s.auditAllowed(id, "graphql", c.Operation, c.Mutations, c.Locations, c.Need)
				}
			}
			s.rp.ServeHTTP(w, withIdentity(r, id))
			return
		}
	}
	class, msg := inspectError(err)
	s.auditRefusal(id, refusal{class: class, what: "graphql"})
	graphQLError(w, http.StatusBadRequest, msg, "BAD_REQUEST", nil, 1, false)
}

// writeRefusedData answers a refused mutation operation in its own result
// types: each root field of the selected operation becomes a PythonError
// with the message, which the Dagster UI shows in an alert. It writes nothing and returns false when the selected operation
// is not a mutation (the refusal is elsewhere in the document) or one of its
// fields can only be refused with GraphQL errors.
func writeRefusedData(w http.ResponseWriter, r gqlinspect.Request, msg string) bool {
	ops, err := gqlinspect.Operations(r)
	if err != nil {
		return false
	}
	data := map[string]any{}
	for _, op := range ops {
		if !op.Selected {
			continue
		}
		if op.Type != "mutation" {
			return false
		}
		for _, f := range op.Fields {
			if f.Name == "__typename" {
				data[f.Key] = "Mutation"
				continue
			}
			m, _ := authz.LookupMutation(f.Name)
			typ := m.Refusal.TypeName()
			if typ == "" {
				return false
			}
			data[f.Key] = map[string]any{"__typename": typ, "message": msg, "stack": []any{}, "errorChain": []any{}, "className": nil, "cause": nil}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"data": data})
	return true
}
