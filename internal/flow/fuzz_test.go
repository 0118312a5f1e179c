package flow

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzPeekClaims: JWT and claims parsing never panics and never echoes its
// input in an error.
func FuzzPeekClaims(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIiwiZXhwIjoxfQ.c2ln")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		_, _, err := PeekClaims(raw)
		if err != nil && len(raw) > 20 && strings.Contains(err.Error(), raw) {
			t.Fatalf("error echoes the token: %v", err)
		}
		_, _, _ = peekJWT(raw)
	})
}

// bodyTransport answers every request with one status and body, in memory.
type bodyTransport struct {
	status int
	body   []byte
}

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: b.status, Body: io.NopCloser(bytes.NewReader(b.body)), Header: http.Header{}, Request: r}, nil
}

// FuzzIdPResponses feeds arbitrary discovery, device authorization and token
// endpoint answers to the clients: errors, never panics, never a token in
// an error message.
func FuzzIdPResponses(f *testing.F) {
	f.Add(200, []byte(`{"issuer":"https://id.example.com","jwks_uri":"https://id.example.com/keys","token_endpoint":"https://id.example.com/token"}`))
	f.Add(200, []byte(`{"device_code":"d","user_code":"U","verification_uri":"https://v","expires_in":60,"interval":1}`))
	f.Add(400, []byte(`{"error":"slow_down"}`))
	f.Add(200, []byte(`{"id_token":"eyJ.x.y","refresh_token":"secret-refresh"}`))
	f.Add(500, []byte(`<html>`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			return
		}
		client := &http.Client{Transport: bodyTransport{status, body}}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		d := &Discovery{Issuer: "https://id.example.com", HTTP: client}
		_, _ = d.Metadata(ctx)
		polls := 0
		df := &DeviceFlow{ClientID: "c", DeviceAuthURL: "https://id.example.com/device", TokenURL: "https://id.example.com/token", HTTP: client,
			Sleep: func(context.Context, time.Duration) error {
				polls++
				if polls > 3 {
					return context.Canceled
				}
				return nil
			}}
		_, _ = df.Token(ctx)
		// The refresh token this client sends must never show in an error
		// (unless the server itself echoed it back in its answer).
		r := &Refresher{ClientID: "c", TokenURL: "https://id.example.com/token", HTTP: client}
		if _, err := r.Refresh(ctx, "rt-secret-value"); err != nil && strings.Contains(err.Error(), "rt-secret-value") && !bytes.Contains(body, []byte("rt-secret-value")) {
			t.Fatalf("error leaks the refresh token: %v", err)
		}
	})
}
