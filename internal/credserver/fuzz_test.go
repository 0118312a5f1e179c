package credserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

const (
	fuzzPath  = "/Zm9vYmFyYmF6cXV4cXV1eA"
	fuzzToken = "dGhpcy1pcy1hLXRlc3QtdG9rZW4tb2YtMzItYnl0ZXM"
	fuzzHost  = "127.0.0.1:8080"
)

// FuzzHandler checks that no request other than an authorised GET on the
// path yields credentials, and that every answer is JSON.
func FuzzHandler(f *testing.F) {
	f.Add("GET", fuzzPath, fuzzToken, fuzzHost)
	f.Add("POST", fuzzPath, fuzzToken, fuzzHost)
	f.Add("GET", "/", fuzzToken, fuzzHost)
	f.Add("GET", fuzzPath, "", fuzzHost)
	f.Add("GET", fuzzPath+"/../x", fuzzToken, "localhost:8080")
	h := &handler{
		path:     fuzzPath,
		token:    []byte(fuzzToken),
		hosts:    map[string]bool{fuzzHost: true, "localhost:8080": true},
		provider: fixedProvider(testCreds),
		timeout:  time.Second,
	}
	f.Fuzz(func(t *testing.T, method, target, auth, host string) {
		req, err := http.NewRequest(method, "http://"+fuzzHost+"/", nil)
		if err != nil {
			return // not a method net/http would deliver
		}
		u, err := req.URL.Parse(target)
		if err != nil {
			return
		}
		req.URL = u
		req.Host = host
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		body := rec.Body.Bytes()
		if !json.Valid(body) {
			t.Fatalf("body is not JSON: %q", body)
		}
		// net/http reads an empty method as GET.
		authorised := (method == http.MethodGet || method == "") && u.Path == fuzzPath && u.RawQuery == "" &&
			auth == fuzzToken && h.hosts[host]
		switch rec.Code {
		case http.StatusOK:
			if !authorised {
				t.Fatalf("served credentials to %s %q auth %q host %q", method, target, auth, host)
			}
		case http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed:
			if bytes.Contains(body, []byte(testCreds.SecretAccessKey)) {
				t.Fatalf("refusal %d leaks the secret", rec.Code)
			}
			if authorised {
				t.Fatalf("refused an authorised request with %d", rec.Code)
			}
		default:
			t.Fatalf("unexpected status %d", rec.Code)
		}
	})
}
