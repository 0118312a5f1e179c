package authz

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dagster-oidc/dagster-oidc/internal/proxy/gqlinspect"
)

func TestGrantsAllows(t *testing.T) {
	g := Grants{{Role: Viewer}, {Role: Launcher, Locations: []string{"etl"}}, {Role: Admin, Locations: []string{"sandbox"}}}
	tests := []struct {
		need Role
		locs []string
		want bool
	}{
		{Viewer, nil, true},
		{Launcher, nil, false}, // unknown location: only an everywhere grant counts
		{Launcher, []string{"etl"}, true},
		{Launcher, []string{"etl", "sandbox"}, true},
		{Launcher, []string{"etl", "ml"}, false},
		{Editor, []string{"etl"}, false},
		{Admin, []string{"sandbox"}, true},
		{None, nil, true},
	}
	for _, tt := range tests {
		if got := g.Allows(tt.need, tt.locs); got != tt.want {
			t.Errorf("Allows(%s, %v) = %v, want %v", tt.need, tt.locs, got, tt.want)
		}
	}
	if g.Highest() != Admin || g.Everywhere() != Viewer || g.At("etl") != Launcher {
		t.Errorf("Highest/Everywhere/At = %s/%s/%s", g.Highest(), g.Everywhere(), g.At("etl"))
	}
	if got := g.String(); got != "viewer; launcher on etl; admin on sandbox" {
		t.Errorf("String() = %q", got)
	}
	if (Grants{}).String() != "no role" {
		t.Errorf("empty grants should read no role")
	}
}

func TestParseRole(t *testing.T) {
	for _, n := range RoleNames() {
		r, err := ParseRole(n)
		if err != nil || r.String() != n {
			t.Errorf("ParseRole(%q) = %v, %v", n, r, err)
		}
	}
	if _, err := ParseRole("owner"); err == nil || err.Error() != `unknown role "owner" (one of viewer, launcher, editor, admin)` {
		t.Errorf("ParseRole(owner) error = %v", err)
	}
	if _, err := ParseRole("none"); err == nil {
		t.Error("none must not be assignable")
	}
}

func TestMutationTable(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Mutations {
		if seen[m.Name] {
			t.Errorf("%s is in the table twice", m.Name)
		}
		seen[m.Name] = true
		if m.Role < Viewer || m.Role > Admin {
			t.Errorf("%s has no role", m.Name)
		}
	}
	if m, ok := LookupMutation("launchRun"); !ok || m.Role != Launcher {
		t.Errorf("launchRun = %+v, %v", m, ok)
	}
	if m, ok := LookupMutation("someFutureMutation"); ok || m.Role != Admin {
		t.Errorf("an unknown mutation must need admin, got %+v, %v", m, ok)
	}
}

func TestMatchRoute(t *testing.T) {
	tests := map[string]string{
		"/graphql":                                   "/graphql",
		"/graphql/":                                  "/{path:path}",
		"/logs/a/b/c.txt":                            "/logs/{path:path}",
		"/download_debug/abc":                        "/download_debug/{run_id:str}",
		"/download_debug/abc/x":                      "/{path:path}",
		"/download_debug/":                           "/{path:path}",
		"/report_asset_materialization/a/b":          "/report_asset_materialization/{asset_key:path}",
		"/report_asset_check/k":                      "/report_asset_check/{asset_key:path}",
		"/runs/b5f6e2a6-0000-4000-8000-000000000000": "/{path:path}",
		"/":            "/{path:path}",
		"/server_info": "/server_info",
	}
	for path, want := range tests {
		if got := MatchRoute(path).Pattern; got != want {
			t.Errorf("MatchRoute(%q) = %q, want %q", path, got, want)
		}
	}
}

func ops(t *testing.T, r gqlinspect.Request) []gqlinspect.Operation {
	t.Helper()
	o, err := gqlinspect.Operations(r)
	if err != nil {
		t.Fatalf("Operations(%q): %v", r.Query, err)
	}
	return o
}

func TestCheckOperations(t *testing.T) {
	launch := `mutation L($p: ExecutionParams!) { launchPipelineExecution(executionParams: $p) { __typename } }`
	params := func(loc string) map[string]any {
		return map[string]any{"p": map[string]any{"selector": map[string]any{"repositoryLocationName": loc, "repositoryName": "__repository__", "pipelineName": "etl_daily"}}}
	}
	viewer := Grants{{Role: Viewer}}
	etlLauncher := Grants{{Role: Viewer}, {Role: Launcher, Locations: []string{"etl"}}}
	editor := Grants{{Role: Editor}}
	tests := []struct {
		name   string
		grants Grants
		req    gqlinspect.Request
		want   Check
	}{
		{"a query, viewer", viewer, gqlinspect.Request{Query: `query Runs { runsOrError { __typename } }`},
			Check{Allowed: true, Operation: "Runs", Need: Viewer}},
		{"a query, no role", nil, gqlinspect.Request{Query: `{ version }`},
			Check{Allowed: false, Need: Viewer}},
		{"a subscription, viewer", viewer, gqlinspect.Request{Query: `subscription S { pipelineRunLogs(runId: "x") { __typename } }`},
			Check{Allowed: true, Operation: "S", Need: Viewer}},
		{"launch by a viewer", viewer, gqlinspect.Request{Query: launch, Variables: params("etl")},
			Check{Allowed: false, Operation: "L", Mutations: []string{"launchPipelineExecution"}, Need: Launcher, Field: "launchPipelineExecution", Locations: []string{"etl"}}},
		{"launch in the launcher's location", etlLauncher, gqlinspect.Request{Query: launch, Variables: params("etl")},
			Check{Allowed: true, Operation: "L", Mutations: []string{"launchPipelineExecution"}, Need: Launcher, Locations: []string{"etl"}}},
		{"launch outside the launcher's location", etlLauncher, gqlinspect.Request{Query: launch, Variables: params("ml")},
			Check{Allowed: false, Operation: "L", Mutations: []string{"launchPipelineExecution"}, Need: Launcher, Field: "launchPipelineExecution", Locations: []string{"ml"}}},
		{"launch with a literal selector", etlLauncher, gqlinspect.Request{Query: `mutation { launchRun(executionParams: {selector: {repositoryLocationName: "etl", repositoryName: "r", jobName: "j"}}) { __typename } }`},
			Check{Allowed: true, Mutations: []string{"launchRun"}, Need: Launcher, Locations: []string{"etl"}}},
		{"launch with the location in a variable default", etlLauncher, gqlinspect.Request{Query: `mutation M($loc: String = "ml") { launchRun(executionParams: {selector: {repositoryLocationName: $loc, repositoryName: "r", jobName: "j"}}) { __typename } }`},
			Check{Allowed: false, Operation: "M", Mutations: []string{"launchRun"}, Need: Launcher, Field: "launchRun", Locations: []string{"ml"}}},
		{"several runs, one outside", etlLauncher, gqlinspect.Request{Query: `mutation { launchMultipleRuns(executionParamsList: [{selector: {repositoryLocationName: "etl"}}, {selector: {repositoryLocationName: "ml"}}]) { __typename } }`},
			Check{Allowed: false, Mutations: []string{"launchMultipleRuns"}, Need: Launcher, Field: "launchMultipleRuns", Locations: []string{"etl", "ml"}}},
		{"terminate names no location: a limited launcher is refused", etlLauncher, gqlinspect.Request{Query: `mutation { terminateRun(runId: "x") { __typename } }`},
			Check{Allowed: false, Mutations: []string{"terminateRun"}, Need: Launcher, Field: "terminateRun"}},
		{"a location that is not a string is unknown", etlLauncher, gqlinspect.Request{Query: launch, Variables: map[string]any{"p": map[string]any{"selector": map[string]any{"repositoryLocationName": []any{"etl"}}}}},
			Check{Allowed: false, Operation: "L", Mutations: []string{"launchPipelineExecution"}, Need: Launcher, Field: "launchPipelineExecution"}},
		{"editor starts a schedule", editor, gqlinspect.Request{Query: `mutation { startSchedule(scheduleSelector: {repositoryLocationName: "etl", repositoryName: "r", scheduleName: "s"}) { __typename } }`},
			Check{Allowed: true, Mutations: []string{"startSchedule"}, Need: Editor, Locations: []string{"etl"}}},
		{"editor wipes an asset", editor, gqlinspect.Request{Query: `mutation { wipeAssets(assetPartitionRanges: [{assetKey: {path: ["a"]}}]) { __typename } }`},
			Check{Allowed: false, Mutations: []string{"wipeAssets"}, Need: Admin, Field: "wipeAssets"}},
		{"an unknown mutation needs admin", editor, gqlinspect.Request{Query: `mutation { dropEverything }`},
			Check{Allowed: false, Mutations: []string{"dropEverything"}, Need: Admin, Field: "dropEverything"}},
		{"a mutation behind a query's operationName", viewer, gqlinspect.Request{Query: `query Q { version } mutation W { wipeAssets(assetPartitionRanges: []) { __typename } }`, OperationName: "Q"},
			Check{Allowed: false, Operation: "Q", Mutations: []string{"wipeAssets"}, Need: Admin, Field: "wipeAssets"}},
		{"a mutation in a fragment", editor, gqlinspect.Request{Query: `mutation { ...F } fragment F on Mutation { ... on Mutation { boom: wipeAssets(assetPartitionRanges: []) { __typename } } }`},
			Check{Allowed: false, Mutations: []string{"wipeAssets"}, Need: Admin, Field: "wipeAssets"}},
		{"telemetry by a viewer", viewer, gqlinspect.Request{Query: `mutation { logTelemetry(action: "a", clientId: "c", clientTime: "t", metadata: "{}") { __typename } }`},
			Check{Allowed: true, Mutations: []string{"logTelemetry"}, Need: Viewer}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckOperations(tt.grants, ops(t, tt.req))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckOperations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	rules := []Rule{
		{Role: Admin, When: "'dagster-admins' in claims.groups"},
		{Role: Launcher, When: "'data-eng' in claims.groups", Locations: []string{"etl"}},
		{Role: Viewer, When: "claims.email endsWith '@example.com'"},
		{Deny: true, When: "claims.sub == 'mallory'"},
	}
	tests := []struct {
		name    string
		claims  map[string]any
		want    Grants
		wantErr bool
	}{
		{"admin", map[string]any{"sub": "a", "groups": []any{"dagster-admins"}, "email": "a@example.com"}, Grants{{Role: Admin}, {Role: Viewer}}, false},
		{"launcher limited to etl", map[string]any{"sub": "b", "groups": []any{"data-eng"}, "email": "b@other.org"}, Grants{{Role: Launcher, Locations: []string{"etl"}}}, false},
		{"no rule matches", map[string]any{"sub": "c", "email": "c@other.org"}, nil, true},
		{"deny wins", map[string]any{"sub": "mallory", "groups": []any{"dagster-admins"}, "email": "m@example.com"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, d, err := Decide(rules, tt.claims, "prod")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if d == nil || len(d.Outcomes) != len(rules) {
				t.Fatalf("decision = %+v, want one outcome per rule", d)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("grants (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDocsTable: docs/proxy.md lists every mutation and route with its role.
func TestDocsTable(t *testing.T) {
	b, err := os.ReadFile("../../../docs/proxy.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, m := range Mutations {
		loc := "every location"
		if len(m.LocationPaths) > 0 {
			loc = "`" + strings.Join(m.LocationPaths, "`, `") + "`"
		}
		if row := fmt.Sprintf("| `%s` | %s | %s |", m.Name, m.Role, loc); !strings.Contains(doc, row) {
			t.Errorf("docs/proxy.md lacks the row %s", row)
		}
	}
	for _, r := range Routes {
		role := r.Role.String()
		if r.GraphQL {
			role = "per operation"
		}
		if row := fmt.Sprintf("| `%s` | %s |", r.Pattern, role); !strings.Contains(doc, row) {
			t.Errorf("docs/proxy.md lacks the row %s", row)
		}
	}
}
