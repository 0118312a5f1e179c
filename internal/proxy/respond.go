package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"

	"github.com/dagster-oidc/dagster-oidc/internal/proxy/authz"
	"github.com/dagster-oidc/dagster-oidc/internal/proxy/gqlinspect"
)

func esc(s string) string { return html.EscapeString(s) }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// page writes a small HTML page of the proxy's own.
func page(w http.ResponseWriter, status int, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>%s · Dagster</title>
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;line-height:1.5;color:#222}code{background:#eee;padding:0 .2em}</style></head>
<body><h1>%s</h1>%s</body></html>
`, esc(title), esc(title), body)
}

// unauthenticated answers a request without a usable identity: a browser
// loading a page goes to sign-in and comes back to it; anything else gets a
// 401 (a GraphQL error on /graphql).
func (s *Server) unauthenticated(w http.ResponseWriter, r *http.Request, err error) {
	if isNavigation(r) && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer") {
		http.Redirect(w, r, SignInPath+"?rd="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
		return
	}
	msg := "dagster-oidc: not signed in: " + firstLine(err.Error())
	if errors.Is(err, errNoSession) {
		msg = "dagster-oidc: not signed in; sign in at " + s.origin + SignInPath + " or send Authorization: Bearer <ID token> (dagster-oidc token)"
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="dagster"`)
	if authz.MatchRoute(r.URL.Path).GraphQL {
		graphQLError(w, http.StatusUnauthorized, msg, "UNAUTHENTICATED", nil, 1, false)
		return
	}
	http.Error(w, msg, http.StatusUnauthorized)
}

// noRole answers a signed-in identity that no rule gives a role.
func (s *Server) noRole(w http.ResponseWriter, r *http.Request, id *identity) {
	s.auditRefusal(id, refusal{class: "no_role", need: authz.Viewer, what: "route " + authz.MatchRoute(r.URL.Path).Pattern})
	msg := fmt.Sprintf("dagster-oidc: %s has no role in this Dagster; ask an administrator for the viewer role (or launcher, editor, admin)", id.Name)
	if !isNavigation(r) {
		if authz.MatchRoute(r.URL.Path).GraphQL {
			graphQLError(w, http.StatusForbidden, msg, "FORBIDDEN", map[string]any{"requiredRole": "viewer", "user": id.Name}, 1, false)
			return
		}
		http.Error(w, msg, http.StatusForbidden)
		return
	}
	page(w, http.StatusForbidden, "No access to Dagster", fmt.Sprintf(`<p>You are signed in as <strong>%s</strong> (issuer <code>%s</code>), but no rule gives you a role here.</p>
<p>Ask your Dagster administrator for one of the roles <code>viewer</code> (look), <code>launcher</code> (launch and stop runs), <code>editor</code> (also schedules, sensors, code locations) or <code>admin</code>; tell them who you are signed in as. They can check with <code>dagster-oidc explain --proxy</code>.</p>
<p><a href="%s">Sign out</a> to use another account.</p>`, esc(id.Name), esc(id.Issuer), SignOutPath))
}

// graphQLError writes errors in the shape dagster-webserver answers with
// ({"data": null, "errors": [{"message", "extensions"}]}), n times as an
// array for a batch. The status is 200 for a refused operation, so the
// Dagster UI shows the message and keeps working, and 401/403 otherwise.
func graphQLError(w http.ResponseWriter, status int, msg, code string, ext map[string]any, n int, batch bool) {
	e := map[string]any{"code": code}
	for k, v := range ext {
		e[k] = v
	}
	one := map[string]any{"data": nil, "errors": []any{map[string]any{"message": msg, "extensions": e}}}
	var body any = one
	if batch {
		all := make([]any, n)
		for i := range all {
			all[i] = one
		}
		body = all
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// refusalMessage says what was refused, the role it needs and who asked.
func refusalMessage(id *identity, c authz.Check) string {
	where := ""
	if len(c.Locations) > 0 {
		where = " on code location " + strings.Join(c.Locations, ", ")
	} else if c.Field != "" {
		if m, _ := authz.LookupMutation(c.Field); len(m.LocationPaths) == 0 {
			where = " on every code location"
		}
	}
	what := c.Field
	if what == "" {
		what = "this operation"
	}
	return fmt.Sprintf("dagster-oidc: %s needs the %s role%s; %s has %s", what, c.Need, where, id.Name, id.Grants)
}

func inspectError(err error) (class, msg string) {
	var e *gqlinspect.Error
	if errors.As(err, &e) {
		return e.Reason, "dagster-oidc: " + e.Error()
	}
	return "malformed", "dagster-oidc: GraphQL request refused: " + firstLine(err.Error())
}
