package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/dagster-oidc/dagster-oidc/internal/proxy/gqlinspect"
)

// WebSocket subprotocols the relay speaks: dagster-webserver's graphql-ws
// (subscriptions-transport-ws) and the newer graphql-transport-ws.
var wsProtocols = []string{"graphql-ws", "graphql-transport-ws"}

// upstreamReadLimit bounds one message from the webserver (logs can be big).
const upstreamReadLimit = 64 << 20

// websocket relays a GraphQL WebSocket, checking every operation a client
// starts on it: a refused one gets an error message for its id and never
// reaches the webserver; a message the relay cannot read closes the socket.
func (s *Server) websocket(w http.ResponseWriter, r *http.Request, id *identity) {
	if id.Source == sourceSession {
		// A browser always sends Origin on a WebSocket handshake; the
		// cookie must not let another site's page open one (CSWSH).
		if r.Header.Get("Origin") != s.origin {
			s.auditRefusal(id, refusal{class: "csrf", what: "websocket"})
			http.Error(w, "dagster-oidc: cross-site WebSocket refused (Origin does not match)", http.StatusForbidden)
			return
		}
	}
	up := *s.o.Upstream
	switch up.Scheme {
	case "https":
		up.Scheme = "wss"
	default:
		up.Scheme = "ws"
	}
	up.Path = singleJoin(up.Path, r.URL.Path)
	up.RawQuery = r.URL.RawQuery
	hdr := http.Header{}
	for _, h := range []string{"Cookie", "User-Agent", "Accept-Language"} {
		if v := r.Header.Values(h); len(v) > 0 {
			hdr[h] = v
		}
	}
	stripCookies(hdr, s.sessionCookie())
	if s.o.ForwardHeaders {
		setForwarded(hdr, id)
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	upConn, resp, err := websocket.Dial(ctx, up.String(), &websocket.DialOptions{
		HTTPClient: s.dialer, HTTPHeader: hdr, Subprotocols: requested(r, wsProtocols),
	})
	if err != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		s.o.ErrorLog("upstream websocket: %v", err)
		http.Error(w, "dagster-webserver is not reachable through the proxy", http.StatusBadGateway)
		return
	}
	defer upConn.CloseNow()
	upConn.SetReadLimit(upstreamReadLimit)
	proto := upConn.Subprotocol()
	client, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{proto},
		// Origin was checked above against the proxy's external URL,
		// which may differ from the Host the request arrived with.
		InsecureSkipVerify: true,
	})
	if err != nil {
		return
	}
	defer client.CloseNow()
	client.SetReadLimit(s.o.MaxMessageBytes)

	if !id.Until.IsZero() {
		// The socket outlives no credential: at the session's (or the
		// token's) end it closes, and the UI reconnects with what it has.
		stop := time.AfterFunc(id.Until.Sub(s.o.Clock.Now()), func() {
			client.Close(websocket.StatusPolicyViolation, "dagster-oidc: the session ended")
			cancel()
		})
		defer stop.Stop()
	}
	errc := make(chan error, 2)
	go func() { errc <- s.clientToUpstream(ctx, client, upConn, id, proto) }()
	go func() { errc <- pump(ctx, upConn, client) }()
	err = <-errc
	cancel()
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		client.Close(ce.Code, ce.Reason)
		upConn.Close(ce.Code, ce.Reason)
	}
}

func singleJoin(a, b string) string {
	if a == "" || a == "/" {
		return b
	}
	u, _ := url.JoinPath(a, b)
	return u
}

// requested are the subprotocols of ours the client asked for, in its order.
func requested(r *http.Request, ours []string) []string {
	var out []string
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); slices.Contains(ours, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// pump copies messages from one side to the other.
func pump(ctx context.Context, from, to *websocket.Conn) error {
	for {
		typ, data, err := from.Read(ctx)
		if err != nil {
			return err
		}
		if err := to.Write(ctx, typ, data); err != nil {
			return err
		}
	}
}

// clientToUpstream checks each client message before passing it on.
func (s *Server) clientToUpstream(ctx context.Context, client, upConn *websocket.Conn, id *identity, proto string) error {
	for {
		typ, data, err := client.Read(ctx)
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			return websocket.CloseError{Code: websocket.StatusUnsupportedData, Reason: "text messages only"}
		}
		m, err := gqlinspect.FromWSMessage(data)
		if err != nil {
			class, _ := inspectError(err)
			s.auditRefusal(id, refusal{class: class, what: "websocket"})
			return websocket.CloseError{Code: websocket.StatusPolicyViolation, Reason: "dagster-oidc: message refused"}
		}
		if m.Request != nil {
			checks, refused, err := decideRequests(id, []gqlinspect.Request{*m.Request})
			msg := ""
			switch {
			case err != nil:
				class, text := inspectError(err)
				s.auditRefusal(id, refusal{class: class, what: "websocket"})
				msg = text
			case refused != nil:
				s.auditRefusal(id, refusal{class: "role", check: refused, what: "websocket"})
				msg = refusalMessage(id, *refused)
			default:
				if c := checks[0]; len(c.Mutations) > 0 {
					s.auditAllowed(id, "websocket", c.Operation, c.Mutations, c.Locations, c.Need)
				}
			}
			if msg != "" {
				if err := client.Write(ctx, websocket.MessageText, wsError(proto, m.ID, msg)); err != nil {
					return err
				}
				continue
			}
		}
		if err := upConn.Write(ctx, typ, data); err != nil {
			return err
		}
	}
}

// wsError is the protocol's error message for one operation.
func wsError(proto, id, msg string) []byte {
	e := map[string]any{"message": msg, "extensions": map[string]any{"code": "FORBIDDEN"}}
	var payload any = e // graphql-ws: one error object
	if proto == "graphql-transport-ws" {
		payload = []any{e}
	}
	b, _ := json.Marshal(map[string]any{"type": "error", "id": id, "payload": payload})
	return b
}
