package authz

import "strings"

// Mutation is one Dagster GraphQL mutation field and what it takes to run it.
type Mutation struct {
	// Name is the field of Dagster's Mutation type.
	Name string
	// Role is the minimum role.
	Role Role
	// LocationPaths are the argument paths that name the code location
	// ("executionParams.selector.repositoryLocationName"); lists on the way
	// are walked element by element. Without any, the mutation's location is
	// unknown and only a role on every location allows it.
	LocationPaths []string
	// Refusal is how a refusal is answered in the mutation's own result
	// type, so that the Dagster UI shows the message where it shows that
	// mutation's errors.
	Refusal Refusal
}

// Refusal is the shape of a refused mutation's answer.
type Refusal int

// The shapes: the result union's PythonError, whose message the Dagster UI
// shows in an alert wherever it runs a mutation (its UnauthorizedError
// branches show fixed texts or nothing); or GraphQL errors, for a mutation
// whose result is a plain Boolean. The coverage test checks each against
// the installed schema's result types.
const (
	RefuseInResult Refusal = iota
	RefuseErrors
)

// TypeName is the result type a refusal is written as ("" for errors).
func (r Refusal) TypeName() string {
	if r == RefuseInResult {
		return "PythonError"
	}
	return ""
}

// Mutations is the table of every mutation of dagster-graphql 1.13.27's
// schema, by minimum role. A mutation not in it needs Admin (MutationRole).
// TestMutationTableCoversSchema (build tag proxy) fails when the installed
// schema has a mutation the table lacks, or the table one it no longer has.
var Mutations = []Mutation{
	// UI bookkeeping, no effect on runs or definitions.
	{Name: "logTelemetry", Role: Viewer},
	{Name: "setNuxSeen", Role: Viewer, Refusal: RefuseErrors},

	// Launching, re-executing and stopping runs and backfills.
	{Name: "launchPipelineExecution", Role: Launcher, LocationPaths: []string{"executionParams.selector.repositoryLocationName"}},
	{Name: "launchRun", Role: Launcher, LocationPaths: []string{"executionParams.selector.repositoryLocationName"}},
	{Name: "launchMultipleRuns", Role: Launcher, LocationPaths: []string{"executionParamsList.selector.repositoryLocationName"}},
	{Name: "launchPipelineReexecution", Role: Launcher, LocationPaths: []string{"executionParams.selector.repositoryLocationName"}},
	{Name: "launchRunReexecution", Role: Launcher, LocationPaths: []string{"executionParams.selector.repositoryLocationName"}},
	{Name: "launchPartitionBackfill", Role: Launcher, LocationPaths: []string{"backfillParams.selector.repositorySelector.repositoryLocationName"}},
	{Name: "reexecutePartitionBackfill", Role: Launcher},
	{Name: "resumePartitionBackfill", Role: Launcher},
	{Name: "cancelPartitionBackfill", Role: Launcher},
	{Name: "terminatePipelineExecution", Role: Launcher},
	{Name: "terminateRun", Role: Launcher},
	{Name: "terminateRuns", Role: Launcher},
	{Name: "scheduleDryRun", Role: Launcher, LocationPaths: []string{"selectorData.repositoryLocationName"}},
	{Name: "sensorDryRun", Role: Launcher, LocationPaths: []string{"selectorData.repositoryLocationName"}},

	// Changing what runs on its own, what is recorded, and the code servers.
	{Name: "startSchedule", Role: Editor, LocationPaths: []string{"scheduleSelector.repositoryLocationName"}},
	{Name: "stopRunningSchedule", Role: Editor},
	{Name: "resetSchedule", Role: Editor, LocationPaths: []string{"scheduleSelector.repositoryLocationName"}},
	{Name: "startSensor", Role: Editor, LocationPaths: []string{"sensorSelector.repositoryLocationName"}},
	{Name: "stopSensor", Role: Editor},
	{Name: "resetSensor", Role: Editor, LocationPaths: []string{"sensorSelector.repositoryLocationName"}},
	{Name: "setSensorCursor", Role: Editor, LocationPaths: []string{"sensorSelector.repositoryLocationName"}},
	{Name: "deletePipelineRun", Role: Editor},
	{Name: "deleteRun", Role: Editor},
	{Name: "reloadRepositoryLocation", Role: Editor, LocationPaths: []string{"repositoryLocationName"}},
	{Name: "reloadWorkspace", Role: Editor},
	{Name: "shutdownRepositoryLocation", Role: Editor, LocationPaths: []string{"repositoryLocationName"}},
	{Name: "reportRunlessAssetEvents", Role: Editor},
	{Name: "reportAssetCheckEvaluations", Role: Editor},
	{Name: "addDynamicPartition", Role: Editor, LocationPaths: []string{"repositorySelector.repositoryLocationName"}},
	{Name: "freeConcurrencySlotsForRun", Role: Editor, Refusal: RefuseErrors},
	{Name: "freeConcurrencySlots", Role: Editor, Refusal: RefuseErrors},
	{Name: "setAppManagedComponent", Role: Editor, LocationPaths: []string{"locationName"}},
	{Name: "deleteAppManagedComponent", Role: Editor, LocationPaths: []string{"locationName"}},
	{Name: "refreshComponentState", Role: Editor, LocationPaths: []string{"locationName"}},

	// Destroying history and changing the whole deployment.
	{Name: "wipeAssets", Role: Admin},
	{Name: "deleteDynamicPartitions", Role: Admin, LocationPaths: []string{"repositorySelector.repositoryLocationName"}},
	{Name: "setAutoMaterializePaused", Role: Admin, Refusal: RefuseErrors},
	{Name: "setConcurrencyLimit", Role: Admin, Refusal: RefuseErrors},
	{Name: "deleteConcurrencyLimit", Role: Admin, Refusal: RefuseErrors},
}

// LookupMutation returns the table's entry for a mutation field; ok is false
// for a mutation the table does not know, which then needs Admin.
func LookupMutation(name string) (m Mutation, ok bool) {
	for _, x := range Mutations {
		if x.Name == name {
			return x, true
		}
	}
	return Mutation{Name: name, Role: Admin}, false
}

// Route is a path pattern of dagster-webserver outside GraphQL, and the
// role it needs.
type Route struct {
	// Pattern is the webserver's Starlette path ("/logs/{path:path}").
	Pattern string
	// Methods the webserver serves there; nil for any. A request with
	// another method falls through to later routes in the webserver, and
	// needs this route's role here all the same.
	Methods []string
	// Role is the minimum role.
	Role Role
	// GraphQL marks the GraphQL endpoint, whose requests are inspected.
	GraphQL bool
}

// Routes is the table of dagster-webserver 1.13.27's routes. The catch-all
// serves the UI's HTML and static files. TestRouteTableCoversWebserver
// (build tag proxy) checks it against the installed webserver's routes.
var Routes = []Route{
	{Pattern: "/graphql", Methods: []string{"GET", "POST"}, GraphQL: true},
	{Pattern: "/server_info", Role: Viewer},
	{Pattern: "/dagit_info", Role: Viewer},
	{Pattern: "/logs/{path:path}", Role: Viewer},
	{Pattern: "/notebook", Role: Viewer},
	{Pattern: "/dagit/notebook", Role: Viewer},
	{Pattern: "/download_debug/{run_id:str}", Role: Viewer},
	{Pattern: "/report_asset_materialization/{asset_key:path}", Methods: []string{"POST"}, Role: Editor},
	{Pattern: "/report_asset_check/{asset_key:path}", Methods: []string{"POST"}, Role: Editor},
	{Pattern: "/report_asset_observation/{asset_key:path}", Methods: []string{"POST"}, Role: Editor},
	{Pattern: "/{path:path}", Role: Viewer},
	{Pattern: "/", Role: Viewer},
}

// MatchRoute returns the first route whose pattern matches path, as
// Starlette matches them in order ("{x:path}" takes the rest, including
// slashes; "{x}" and "{x:str}" one non-empty segment). The catch-all makes
// every path match something.
func MatchRoute(path string) Route {
	for _, r := range Routes {
		if patternMatches(r.Pattern, path) {
			return r
		}
	}
	return Route{Pattern: "", Role: Admin}
}

func patternMatches(pattern, path string) bool {
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			return pattern == path
		}
		if !strings.HasPrefix(path, pattern[:i]) {
			return false
		}
		path = path[i:]
		j := strings.IndexByte(pattern, '}')
		param, rest := pattern[i+1:j], pattern[j+1:]
		if strings.HasSuffix(param, ":path") {
			// Starlette's path convertor matches ".*": anything, to the end
			// when nothing follows in the pattern.
			if rest == "" {
				return true
			}
			k := strings.LastIndex(path, rest)
			return k >= 0 && patternMatches(rest, path[k:])
		}
		k := strings.IndexByte(path, '/')
		if k < 0 {
			k = len(path)
		}
		if k == 0 {
			return false
		}
		pattern, path = rest, path[k:]
	}
}
