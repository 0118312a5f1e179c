package gqlinspect

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFromHTTP(t *testing.T) {
	q := `query Q { version }`
	tests := []struct {
		name       string
		method, ct string
		rawQuery   string
		body       string
		want       []Request
		wantReason string
	}{
		{name: "POST JSON", method: "POST", ct: "application/json", body: `{"query":"query Q { version }","operationName":"Q","variables":{"a":1}}`,
			want: []Request{{Query: q, OperationName: "Q", Variables: map[string]any{"a": float64(1)}}}},
		{name: "POST JSON with charset", method: "POST", ct: "application/json; charset=utf-8", body: `{"query":"{ version }"}`,
			want: []Request{{Query: "{ version }"}}},
		{name: "variables as a JSON string", method: "POST", ct: "application/json", body: `{"query":"{ version }","variables":"{\"a\":\"b\"}"}`,
			want: []Request{{Query: "{ version }", Variables: map[string]any{"a": "b"}}}},
		{name: "batched array", method: "POST", ct: "application/json", body: `[{"query":"{ a }"},{"query":"mutation { b }"}]`,
			want: []Request{{Query: "{ a }"}, {Query: "mutation { b }"}}},
		{name: "empty batch", method: "POST", ct: "application/json", body: `[]`, wantReason: "malformed"},
		{name: "application/graphql body", method: "POST", ct: "application/graphql", body: q,
			want: []Request{{Query: q}}},
		{name: "GET ?query=", method: "GET", rawQuery: "query=" + url.QueryEscape(q) + "&operationName=Q&variables=%7B%7D",
			want: []Request{{Query: q, OperationName: "Q", Variables: map[string]any{}}}},
		{name: "form POST reads the URL, as the webserver does", method: "POST", ct: "application/x-www-form-urlencoded", rawQuery: "query=" + url.QueryEscape("mutation { wipeAssets }"), body: "query=%7Bversion%7D",
			want: []Request{{Query: "mutation { wipeAssets }"}}},
		{name: "JSON POST with ?query= too: both are checked", method: "POST", ct: "application/json", rawQuery: "query=" + url.QueryEscape("mutation { x }"), body: `{"query":"{ a }"}`,
			want: []Request{{Query: "mutation { x }"}, {Query: "{ a }"}}},
		{name: "query given twice in the URL", method: "GET", rawQuery: "query=%7Ba%7D&query=mutation%7Bb%7D", wantReason: "ambiguous"},
		{name: "semicolon in the URL", method: "GET", rawQuery: "query=%7Ba%7D;x=1", wantReason: "malformed"},
		{name: "GET without a query", method: "GET", rawQuery: "", wantReason: "malformed"},
		{name: "persisted query without text", method: "POST", ct: "application/json", body: `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}`, wantReason: "persisted_query"},
		{name: "persisted query with its text is inspected", method: "POST", ct: "application/json", body: `{"query":"{ a }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}`,
			want: []Request{{Query: "{ a }"}}},
		{name: "not JSON", method: "POST", ct: "application/json", body: `{"query":`, wantReason: "malformed"},
		{name: "a JSON string", method: "POST", ct: "application/json", body: `"{ a }"`, wantReason: "malformed"},
		{name: "query not a string", method: "POST", ct: "application/json", body: `{"query":["{ a }"]}`, wantReason: "malformed"},
		{name: "keys are exact: QUERY is not query", method: "POST", ct: "application/json", body: `{"QUERY":"mutation { a }"}`, wantReason: "malformed"},
		{name: "invalid UTF-8", method: "POST", ct: "application/json", body: "{\"query\":\"\xff\"}", wantReason: "malformed"},
		{name: "variables not an object", method: "POST", ct: "application/json", body: `{"query":"{ a }","variables":[1]}`, wantReason: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromHTTP(tt.method, tt.ct, tt.rawQuery, []byte(tt.body))
			checkErr(t, err, tt.wantReason)
			if diff := cmp.Diff(tt.want, got); tt.wantReason == "" && diff != "" {
				t.Errorf("FromHTTP (-want +got):\n%s", diff)
			}
		})
	}
}

func checkErr(t *testing.T, err error, reason string) {
	t.Helper()
	if reason == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) || e.Reason != reason {
		t.Fatalf("error = %v, want reason %q", err, reason)
	}
}

func TestFromWSMessage(t *testing.T) {
	tests := []struct {
		name       string
		msg        string
		want       WSMessage
		wantReason string
	}{
		{name: "graphql-ws start, the webserver's operation_name", msg: `{"id":"1","type":"start","payload":{"query":"subscription S { a }","operation_name":"S","variables":{}}}`,
			want: WSMessage{Type: "start", ID: "1", Request: &Request{Query: "subscription S { a }", OperationName: "S", Variables: map[string]any{}}}},
		{name: "graphql-transport-ws subscribe", msg: `{"id":"2","type":"subscribe","payload":{"query":"mutation { x }","operationName":"M"}}`,
			want: WSMessage{Type: "subscribe", ID: "2", Request: &Request{Query: "mutation { x }", OperationName: "M"}}},
		{name: "names that disagree", msg: `{"id":"1","type":"start","payload":{"query":"{ a }","operation_name":"A","operationName":"B"}}`, wantReason: "ambiguous"},
		{name: "connection_init", msg: `{"type":"connection_init","payload":{}}`, want: WSMessage{Type: "connection_init"}},
		{name: "stop", msg: `{"type":"stop","id":"1"}`, want: WSMessage{Type: "stop", ID: "1"}},
		{name: "numeric id", msg: `{"type":"stop","id":7}`, want: WSMessage{Type: "stop", ID: "7"}},
		{name: "unknown type", msg: `{"type":"execute","payload":{"query":"mutation { x }"}}`, wantReason: "malformed"},
		{name: "no type", msg: `{"id":"1"}`, wantReason: "malformed"},
		{name: "start without a payload", msg: `{"type":"start","id":"1"}`, wantReason: "malformed"},
		{name: "not an object", msg: `[1]`, wantReason: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromWSMessage([]byte(tt.msg))
			checkErr(t, err, tt.wantReason)
			if diff := cmp.Diff(tt.want, got); tt.wantReason == "" && diff != "" {
				t.Errorf("FromWSMessage (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOperations(t *testing.T) {
	tests := []struct {
		name       string
		req        Request
		want       []Operation
		wantReason string
	}{
		{name: "anonymous query", req: Request{Query: `{ version }`},
			want: []Operation{{Type: "query", Selected: true, Fields: []Field{{Name: "version", Key: "version", Args: map[string]any{}}}}}},
		{name: "alias keeps the field name", req: Request{Query: `mutation { nice: wipeAssets(assetPartitionRanges: [{assetKey: {path: ["a", "b"]}}]) { __typename } }`},
			want: []Operation{{Type: "mutation", Selected: true, Fields: []Field{{Name: "wipeAssets", Key: "nice", Args: map[string]any{"assetPartitionRanges": []any{map[string]any{"assetKey": map[string]any{"path": []any{"a", "b"}}}}}}}}}},
		{name: "variables, defaults, scalars", req: Request{Query: `mutation M($a: String, $b: Boolean = true) { f(a: $a, b: $b, c: 3, d: null, e: ENUM) }`, Variables: map[string]any{"a": "x"}, OperationName: "M"},
			want: []Operation{{Type: "mutation", Name: "M", Selected: true, Fields: []Field{{Name: "f", Key: "f", Args: map[string]any{"a": "x", "b": true, "c": "3", "d": nil, "e": "ENUM"}}}}}},
		{name: "every operation is returned, the named one selected", req: Request{Query: `query Q { a } mutation W { b }`, OperationName: "Q"},
			want: []Operation{{Type: "query", Name: "Q", Selected: true, Fields: []Field{{Name: "a", Key: "a", Args: map[string]any{}}}}, {Type: "mutation", Name: "W", Fields: []Field{{Name: "b", Key: "b", Args: map[string]any{}}}}}},
		{name: "fragments at the root are expanded", req: Request{Query: `mutation { ...A } fragment A on Mutation { ...B } fragment B on Mutation { x }`},
			want: []Operation{{Type: "mutation", Selected: true, Fields: []Field{{Name: "x", Key: "x", Args: map[string]any{}}}}}},
		{name: "several operations, no name", req: Request{Query: `query A { a } query B { b }`}, wantReason: "ambiguous"},
		{name: "name that matches none", req: Request{Query: `query A { a }`, OperationName: "B"}, wantReason: "ambiguous"},
		{name: "same name twice", req: Request{Query: `query A { a } mutation A { b }`, OperationName: "A"}, wantReason: "ambiguous"},
		{name: "fragment defined twice", req: Request{Query: `mutation { ...F } fragment F on Mutation { a } fragment F on Mutation { b }`}, wantReason: "ambiguous"},
		{name: "undefined fragment", req: Request{Query: `mutation { ...F }`}, wantReason: "parse"},
		{name: "fragment cycle", req: Request{Query: `mutation { ...F } fragment F on Mutation { ...G } fragment G on Mutation { ...F }`}, wantReason: "parse"},
		{name: "does not parse", req: Request{Query: `mutation { wipeAssets( }`}, wantReason: "parse"},
		{name: "no operation", req: Request{Query: `fragment F on Query { a }`}, wantReason: "parse"},
		{name: "a type definition", req: Request{Query: `type Query { a: String }`}, wantReason: "parse"},
		{name: "empty", req: Request{Query: ``}, wantReason: "parse"},
		{name: "too many tokens", req: Request{Query: "{ " + strings.Repeat("a ", MaxTokens) + "}"}, wantReason: "parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Operations(tt.req)
			checkErr(t, err, tt.wantReason)
			if diff := cmp.Diff(tt.want, got); tt.wantReason == "" && diff != "" {
				t.Errorf("Operations (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzOperations(f *testing.F) {
	for _, s := range []string{`{ a }`, `mutation M($a: X = {b: [1, "c"]}) { f(a: $a) { ...F } } fragment F on X { g }`, `query A { a } mutation B { b }`} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, query, name string) {
		ops, err := Operations(Request{Query: query, OperationName: name})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is not an *Error: %v", err)
			}
			return
		}
		selected := 0
		for _, o := range ops {
			if o.Selected {
				selected++
			}
		}
		if selected != 1 {
			t.Fatalf("%d operations selected", selected)
		}
	})
}

// FuzzRequests: no input panics the readers, every refusal is an *Error,
// and what is read parses or is refused by Operations.
func FuzzRequests(f *testing.F) {
	f.Add(true, "application/json", "", `[{"query":"{ a }"},{"query":"mutation { b }","operationName":"x"}]`)
	f.Add(false, "", "query=%7Ba%7D&variables=%7B%7D", "")
	f.Add(true, "application/json", "", `{"type":"start","id":"1","payload":{"query":"{ a }","operation_name":"A"}}`)
	f.Fuzz(func(t *testing.T, post bool, ct, rawQuery, body string) {
		method := "GET"
		if post {
			method = "POST"
		}
		check := func(err error) {
			var e *Error
			if err != nil && !errors.As(err, &e) {
				t.Fatalf("error is not an *Error: %v", err)
			}
		}
		reqs, err := FromHTTP(method, ct, rawQuery, []byte(body))
		check(err)
		for _, r := range reqs {
			_, err := Operations(r)
			check(err)
		}
		m, err := FromWSMessage([]byte(body))
		check(err)
		if err == nil && (m.Type == "start" || m.Type == "subscribe") && m.Request == nil {
			t.Fatal("a start message without its request")
		}
	})
}
