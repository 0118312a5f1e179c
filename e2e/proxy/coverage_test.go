//go:build proxy

package proxy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/proxy/authz"
)

// installed is what testdata/schema.py reads from the installed Dagster.
type installed struct {
	Webserver     string   `json:"webserver"`
	GraphQL       string   `json:"graphql"`
	Mutations     []string `json:"mutations"`
	Subscriptions []string `json:"subscriptions"`
	// Results are the members of each mutation's result union (none for a
	// plain type such as Boolean).
	Results map[string][]string `json:"results"`
	Routes  []struct {
		Path      string   `json:"path"`
		Methods   []string `json:"methods"`
		WebSocket bool     `json:"websocket"`
	} `json:"routes"`
}

// readSchema runs testdata/schema.py once for the package.
var readSchema = sync.OnceValues(func() (installed, error) {
	var in installed
	out, err := exec.Command(python(), "testdata/schema.py").Output()
	if err != nil {
		return in, fmt.Errorf("testdata/schema.py: %w", err)
	}
	return in, json.Unmarshal(out, &in)
})

func readInstalled(t *testing.T) installed {
	t.Helper()
	in, err := readSchema()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("installed: dagster-webserver %s, dagster-graphql %s: %d mutations, %d subscriptions, %d routes", in.Webserver, in.GraphQL, len(in.Mutations), len(in.Subscriptions), len(in.Routes))
	return in
}

// TestMutationTableCoversSchema: every mutation of the installed
// dagster-graphql is in the table, and the table has no mutation the schema
// lost. A Dagster upgrade that adds a mutation fails here instead of
// defaulting to admin unnoticed.
func TestMutationTableCoversSchema(t *testing.T) {
	in := readInstalled(t)
	for _, name := range in.Mutations {
		if _, ok := authz.LookupMutation(name); !ok {
			t.Errorf("dagster-graphql %s has the mutation %s, which the table lacks (it needs admin until it is added)", in.GraphQL, name)
		}
	}
	for _, m := range authz.Mutations {
		if !slices.Contains(in.Mutations, m.Name) {
			t.Errorf("the table lists %s, which dagster-graphql %s no longer has", m.Name, in.GraphQL)
		}
	}
	for _, m := range authz.Mutations {
		members := in.Results[m.Name]
		if typ := m.Refusal.TypeName(); typ == "" && len(members) > 0 {
			t.Errorf("%s returns a union (%v): refuse it with a member type, not GraphQL errors", m.Name, members)
		} else if typ != "" && !slices.Contains(members, typ) {
			t.Errorf("%s is refused as %s, which is not in its result type (%v)", m.Name, typ, members)
		}
	}
	if len(in.Mutations) != len(authz.Mutations) {
		t.Errorf("%d mutations installed, %d in the table", len(in.Mutations), len(authz.Mutations))
	}
	// Subscriptions are read-only: the inspector treats each as a query
	// (viewer); a new one is listed here so that a reviewer sees it.
	if want := []string{"capturedLogs", "locationStateChangeEvents", "pipelineRunLogs"}; !slices.Equal(in.Subscriptions, want) {
		t.Errorf("subscriptions = %v, want %v: check each new one is read-only", in.Subscriptions, want)
	}
}

// TestRouteTableCoversWebserver: every route of the installed
// dagster-webserver (its static files aside, served by the catch-all) is in
// the table with the same methods, and the table has no route it lost.
func TestRouteTableCoversWebserver(t *testing.T) {
	in := readInstalled(t)
	seen := map[string]bool{}
	for _, r := range in.Routes {
		seen[r.Path] = true
		var entry *authz.Route
		for i := range authz.Routes {
			if authz.Routes[i].Pattern == r.Path {
				entry = &authz.Routes[i]
			}
		}
		if entry == nil {
			t.Errorf("dagster-webserver %s has the route %s %v, which the table lacks", in.Webserver, r.Path, r.Methods)
			continue
		}
		if r.WebSocket {
			if !entry.GraphQL {
				t.Errorf("the WebSocket route %s is not inspected as GraphQL", r.Path)
			}
			continue
		}
		if entry.Methods == nil {
			if slices.Contains(r.Methods, "POST") || slices.Contains(r.Methods, "PUT") || slices.Contains(r.Methods, "DELETE") {
				t.Errorf("%s takes %v: the table must name its methods and a role for them", r.Path, r.Methods)
			}
			continue
		}
		for _, m := range entry.Methods {
			if !slices.Contains(r.Methods, m) {
				t.Errorf("the table says %s takes %s; dagster-webserver %s serves %v", r.Path, m, in.Webserver, r.Methods)
			}
		}
	}
	for _, r := range authz.Routes {
		if !seen[r.Pattern] {
			t.Errorf("the table lists %s, which dagster-webserver %s no longer has", r.Pattern, in.Webserver)
		}
	}
}

// TestDocsNameTheInstalledDagster: the table in docs/proxy.md is said to
// come from the Dagster the coverage tests read; an upgrade of the venv
// without a new look at the table fails here.
func TestDocsNameTheInstalledDagster(t *testing.T) {
	in := readInstalled(t)
	doc, err := os.ReadFile("../../docs/proxy.md")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("From dagster-graphql %s and dagster-webserver %s.", in.GraphQL, in.Webserver)
	if !strings.Contains(string(doc), want) {
		t.Errorf("docs/proxy.md does not say %q", want)
	}
}
