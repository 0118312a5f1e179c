//go:build proxy

package proxy_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestRealDagsterThroughTheProxy: Go clients against the real webserver,
// through the proxy: what each role may do reaches Dagster and works; what
// it may not never reaches it.
func TestRealDagsterThroughTheProxy(t *testing.T) {
	w := newWorld(t)
	api := &http.Client{Timeout: 30 * time.Second}
	viewer := w.client("vera")

	// A viewer reads the real workspace.
	status, body := w.graphql(viewer, `{"query":"query Locations { workspaceOrError { ... on Workspace { locationEntries { name } } } }","operationName":"Locations"}`)
	if status != 200 || !strings.Contains(body, `"name":"etl"`) || !strings.Contains(body, `"name":"ml"`) {
		t.Fatalf("viewer's query: HTTP %d %s", status, body)
	}
	// ... and may not launch.
	if status, body = w.graphql(viewer, launch("etl", "hello")); !strings.Contains(body, "launchPipelineExecution needs the launcher role on code location etl; vera@example.com has viewer") {
		t.Errorf("viewer's launch: HTTP %d %s", status, body)
	}
	// Batched documents: one mutation among queries refuses the batch.
	batch := `[{"query":"{ version }"},` + launch("etl", "hello") + `]`
	if _, body = w.graphql(viewer, batch); !strings.Contains(body, "needs the launcher role") || strings.Contains(body, "LaunchRunSuccess") {
		t.Errorf("viewer's batch: %s", body)
	}
	// A mutation behind a query's operationName.
	hidden := gql(`query Q { version } mutation W { wipeAssets(assetPartitionRanges: [{assetKey: {path: ["raw_orders"]}}]) { __typename } }`, nil)
	hidden = strings.Replace(hidden, `"variables":null`, `"operationName":"Q"`, 1)
	if _, body = w.graphql(viewer, hidden); !strings.Contains(body, "wipeAssets needs the admin role") {
		t.Errorf("hidden mutation: %s", body)
	}

	// A bearer workload token launches within its code location...
	ci := w.token(map[string]any{"sub": ciSubject}, time.Hour)
	status, body = w.graphql(api, launch("etl", "hello"), "Authorization", "Bearer "+ci, "Origin", "")
	if status != 200 || !strings.Contains(body, `"LaunchRunSuccess"`) {
		t.Fatalf("workload launch in etl: HTTP %d %s", status, body)
	}
	launched := body
	// ... and is refused outside it.
	if _, body = w.graphql(api, launch("ml", "train"), "Authorization", "Bearer "+ci, "Origin", ""); !strings.Contains(body, "needs the launcher role on code location ml") {
		t.Errorf("workload launch in ml: %s", body)
	}
	// dagster-graphql's own Python client, with the header docs/proxy.md shows.
	pu, _ := url.Parse(w.url)
	py := exec.Command(python(), "testdata/client.py", pu.Hostname(), pu.Port(), regexp.MustCompile(`"runId":"([0-9a-f-]+)"`).FindStringSubmatch(launched)[1])
	py.Env = append(os.Environ(), "DAGSTER_TOKEN="+ci)
	if out, err := py.CombinedOutput(); err != nil || !regexp.MustCompile(`^(QUEUED|STARTING|STARTED|SUCCESS|NOT_STARTED)\s*$`).Match(out) {
		t.Errorf("DagsterGraphQLClient through the proxy: %v\n%s", err, out)
	}
	// Forged and expired tokens.
	forged := []byte(ci)
	forged[len(forged)-3] ^= 1
	for name, tok := range map[string]string{"forged": string(forged), "expired": w.token(map[string]any{"sub": ciSubject}, -time.Minute)} {
		if status, body := w.graphql(api, launch("etl", "hello"), "Authorization", "Bearer "+tok, "Origin", ""); status != 401 || strings.Contains(body, "LaunchRunSuccess") {
			t.Errorf("%s token: HTTP %d %s", name, status, body)
		}
	}

	// A mutation over the real WebSocket is refused; a subscription works.
	u, _ := url.Parse(w.url)
	hdr := http.Header{"Origin": {w.url}}
	for _, ck := range viewer.Jar.Cookies(u) {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(w.url, "http")+"/graphql", &websocket.DialOptions{HTTPHeader: hdr, Subprotocols: []string{"graphql-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	exchange := func(msg string) string {
		t.Helper()
		if err := ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, data, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	if got := exchange(`{"type":"connection_init","payload":{}}`); !strings.Contains(got, "connection_ack") {
		t.Fatalf("connection_init: %s", got)
	}
	if got := exchange(`{"id":"1","type":"start","payload":{"query":"mutation { wipeAssets(assetPartitionRanges: [{assetKey: {path: [\"raw_orders\"]}}]) { __typename } }","variables":{}}}`); !strings.Contains(got, `"type":"error"`) || !strings.Contains(got, "wipeAssets needs the admin role") {
		t.Errorf("mutation over the WebSocket: %s", got)
	}
	runID := regexp.MustCompile(`"runId":"([0-9a-f-]+)"`).FindStringSubmatch(launched)
	if runID == nil {
		t.Fatalf("no run id in %s", launched)
	}
	sub := `{"id":"2","type":"start","payload":{"query":"subscription Logs($runId: ID!) { pipelineRunLogs(runId: $runId) { __typename } }","variables":{"runId":"` + runID[1] + `"},"operation_name":"Logs"}}`
	if got := exchange(sub); !strings.Contains(got, `"type":"data"`) || !strings.Contains(got, `"id":"2"`) {
		t.Errorf("the run's log subscription through the proxy: %s", got)
	}

	// The trail: a refusal line per refused request, the allowed launch with
	// its code location, no personal data.
	trail := w.trail.String()
	for _, want := range []string{`"event":"proxy_refused"`, `"event":"proxy_mutation"`, "locations=etl", `"source":"bearer"`} {
		if !strings.Contains(trail, want) {
			t.Errorf("audit trail lacks %s:\n%s", want, trail)
		}
	}
	for _, pii := range []string{"vera", "example.com", "eyJ"} {
		if strings.Contains(trail, pii) {
			t.Errorf("audit trail holds %q", pii)
		}
	}
}
