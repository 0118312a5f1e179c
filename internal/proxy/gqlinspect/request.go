// Package gqlinspect reads what a request asks Dagster's GraphQL endpoint to
// run: the documents of an HTTP request (POST JSON, batched arrays,
// application/graphql bodies, GET and form ?query=) or of a WebSocket
// message (graphql-ws "start", graphql-transport-ws "subscribe"), parsed
// with gqlparser into operations and their root fields with argument values.
//
// It reads each request the way dagster-webserver does, and fails closed: a
// document that does not parse, a request it cannot read the same way as
// the webserver, a persisted-query reference without its text, or an
// operation choice that is ambiguous is an *Error, never a guess.
package gqlinspect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Request is one GraphQL request: a document, the operation to run, variables.
type Request struct {
	Query         string
	OperationName string
	Variables     map[string]any
}

// Error is a request the proxy refuses to pass on because it cannot tell
// for sure what it runs.
type Error struct {
	// Reason is a short class: "parse", "ambiguous", "persisted_query",
	// "malformed".
	Reason string
	// Detail is a one-line explanation, without the document.
	Detail string
}

// Error returns the explanation.
func (e *Error) Error() string { return "GraphQL request refused: " + e.Detail }

func errorf(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// FromHTTP returns the GraphQL requests of an HTTP request to /graphql, read
// as dagster-webserver reads them: a POST whose Content-Type contains
// application/json is a JSON object (or, batched, an array of them); one
// containing application/graphql is the document itself; any other POST,
// and a GET, take query, variables and operationName from the URL. A POST
// that also carries ?query= in the URL is checked for both. A JSON array
// yields one Request per element.
func FromHTTP(method, contentType string, rawQuery string, body []byte) ([]Request, error) {
	var out []Request
	fromURL := method != "POST" || (!strings.Contains(contentType, "application/json") && !strings.Contains(contentType, "application/graphql"))
	if fromURL || urlHasQuery(rawQuery) {
		r, err := fromURLQuery(rawQuery)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if fromURL {
		return out, nil
	}
	if !utf8.Valid(body) {
		return nil, errorf("malformed", "the body is not UTF-8")
	}
	if strings.Contains(contentType, "application/json") {
		reqs, err := fromJSON(body)
		if err != nil {
			return nil, err
		}
		return append(out, reqs...), nil
	}
	return append(out, Request{Query: string(body)}), nil
}

func urlHasQuery(rawQuery string) bool {
	v, err := url.ParseQuery(rawQuery)
	return err != nil || v.Has("query")
}

// fromURLQuery reads query, variables (a JSON string) and operationName
// from the URL. A parameter given twice is ambiguous.
func fromURLQuery(rawQuery string) (Request, error) {
	v, err := url.ParseQuery(rawQuery)
	if err != nil {
		return Request{}, errorf("malformed", "the URL's query string does not parse: %v", err)
	}
	for _, k := range []string{"query", "variables", "operationName"} {
		if len(v[k]) > 1 {
			return Request{}, errorf("ambiguous", "the URL gives %s %d times", k, len(v[k]))
		}
	}
	if !v.Has("query") {
		return Request{}, errorf("malformed", "no GraphQL query found in the request")
	}
	r := Request{Query: v.Get("query"), OperationName: v.Get("operationName")}
	if s := v.Get("variables"); s != "" {
		if err := json.Unmarshal([]byte(s), &r.Variables); err != nil {
			return Request{}, errorf("malformed", "variables is not a JSON object")
		}
	}
	return r, nil
}

// maxBatch bounds the requests of one batched body.
const maxBatch = 64

// fromJSON reads a JSON object or an array of them.
func fromJSON(body []byte) ([]Request, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, errorf("malformed", "the body is not a JSON array of requests")
		}
		if len(items) == 0 || len(items) > maxBatch {
			return nil, errorf("malformed", "a batch holds %d requests (1 to %d allowed)", len(items), maxBatch)
		}
		out := make([]Request, 0, len(items))
		for i, it := range items {
			r, err := fromObject(it, "operationName")
			if err != nil {
				err.Detail = fmt.Sprintf("batch item %d: %s", i+1, err.Detail)
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	}
	r, err := fromObject(body, "operationName")
	if err != nil {
		return nil, err
	}
	return []Request{r}, nil
}

// fromObject reads one request object. nameKeys are the keys that may carry
// the operation name; if several are present they must agree.
func fromObject(data []byte, nameKeys ...string) (Request, *Error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return Request{}, errorf("malformed", "the request is not a JSON object")
	}
	var r Request
	q, ok := obj["query"]
	if !ok || string(q) == "null" {
		if ext, ok := obj["extensions"]; ok && bytes.Contains(ext, []byte("persistedQuery")) {
			return Request{}, errorf("persisted_query", "a persisted-query reference without the document; send the query text")
		}
		return Request{}, errorf("malformed", "no GraphQL query found in the request")
	}
	if err := json.Unmarshal(q, &r.Query); err != nil {
		return Request{}, errorf("malformed", "query is not a string")
	}
	named := false
	for _, k := range nameKeys {
		raw, ok := obj[k]
		if !ok || string(raw) == "null" {
			continue
		}
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return Request{}, errorf("malformed", "%s is not a string", k)
		}
		if named && name != r.OperationName {
			return Request{}, errorf("ambiguous", "the operation names %q and %q disagree", r.OperationName, name)
		}
		r.OperationName, named = name, true
	}
	if raw, ok := obj["variables"]; ok && string(raw) != "null" {
		// Variables may be an object or, as the webserver also accepts, a
		// string holding one.
		var s string
		if json.Unmarshal(raw, &s) == nil {
			raw = []byte(s)
		}
		if err := json.Unmarshal(raw, &r.Variables); err != nil || r.Variables == nil {
			return Request{}, errorf("malformed", "variables is not a JSON object")
		}
	}
	return r, nil
}

// wsControl reports whether a WebSocket message type carries no GraphQL
// document.
func wsControl(typ string) bool {
	switch typ {
	case "connection_init", "connection_terminate", "stop": // graphql-ws (subscriptions-transport-ws)
		return true
	case "ping", "pong", "complete": // graphql-transport-ws
		return true
	}
	return false
}

// WSMessage is one client-to-server WebSocket message.
type WSMessage struct {
	// Type is the message's type ("start", "subscribe", "connection_init" …).
	Type string
	// ID is the operation id, for an error reply.
	ID string
	// Request is set for "start" and "subscribe".
	Request *Request
}

// FromWSMessage reads one client message of the graphql-ws
// (subscriptions-transport-ws, which dagster-webserver speaks) or
// graphql-transport-ws protocol. "start" and "subscribe" carry a request;
// dagster-webserver reads its operation name from operation_name, the
// protocols from operationName, so both are read and must agree. A message
// of any other type is refused.
func FromWSMessage(data []byte) (WSMessage, error) {
	if !utf8.Valid(data) {
		return WSMessage{}, errorf("malformed", "the message is not UTF-8")
	}
	// Exact keys, as the webserver reads them (encoding/json would also
	// accept "TYPE" for a struct field).
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return WSMessage{}, errorf("malformed", "the message is not a JSON object")
	}
	var out WSMessage
	if err := json.Unmarshal(obj["type"], &out.Type); err != nil {
		return WSMessage{}, errorf("malformed", "the message has no type")
	}
	if id, ok := obj["id"]; ok && json.Unmarshal(id, &out.ID) != nil {
		out.ID = string(id)
	}
	switch {
	case out.Type == "start" || out.Type == "subscribe":
		r, err := fromObject(obj["payload"], "operation_name", "operationName")
		if err != nil {
			return out, err
		}
		out.Request = &r
		return out, nil
	case wsControl(out.Type):
		return out, nil
	default:
		return out, errorf("malformed", "unknown WebSocket message type %q", out.Type)
	}
}
