package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

const maxFormBytes = 1 << 20

// tokenMiddleware sits in front of the op's token endpoint: it counts
// requests by grant type, records every token it hands out (IssuedSecrets), answers slow_down to the first SlowDownPolls
// device polls (RFC 8628 §3.5; the op never does, quirk 7) and strips
// id_token from refresh responses when OmitIDTokenOnRefresh is set.
type tokenMiddleware struct {
	next     http.Handler
	rec      *recorder
	omitID   bool
	slowLeft int // guarded by rec.mu
}

func (m *tokenMiddleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFormBytes))
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "could not read the request body")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	grantType := form.Get("grant_type")
	if grantType == "" {
		grantType = r.URL.Query().Get("grant_type")
	}
	name := grantName(grantType)

	slowDown := false
	m.rec.update(func(s *Stats) {
		s.TokenRequests[name]++
		if name == "device_code" && m.slowLeft > 0 {
			m.slowLeft--
			s.SlowDowns++
			slowDown = true
		}
	})
	if slowDown {
		writeOAuthError(w, http.StatusBadRequest, "slow_down", "polling too fast")
		return
	}
	rw := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
	m.next.ServeHTTP(rw, r)
	out := rw.buf.Bytes()
	if rw.status == http.StatusOK {
		var resp map[string]json.RawMessage
		if json.Unmarshal(out, &resp) == nil {
			m.rec.issued(resp, "access_token", "id_token", "refresh_token")
			if m.omitID && name == "refresh_token" {
				delete(resp, "id_token")
				if b, err := json.Marshal(resp); err == nil {
					out = b
				}
			}
		}
	}
	for k, v := range rw.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(rw.status)
	_, _ = w.Write(out)
}

// grantName shortens the device-code grant URN.
func grantName(grantType string) string {
	if grantType == "urn:ietf:params:oauth:grant-type:device_code" {
		return "device_code"
	}
	if grantType == "" {
		return "none"
	}
	return grantType
}

// writeOAuthError writes an RFC 6749 §5.2 error response.
func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

// bufferedWriter holds a response so it can be rewritten.
type bufferedWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) WriteHeader(status int)      { b.status = status }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }
