package credserver

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/output"
)

// handler answers the container-credentials protocol on one path.
type handler struct {
	path     string
	token    []byte
	hosts    map[string]bool
	provider Provider
	onServe  func(error)
	timeout  time.Duration
	mu       sync.Mutex // serialises provider calls
}

// errorBody is the error JSON the SDKs parse from non-200 answers.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil {
		// The protocol has no body; read a little so keep-alive works,
		// never more.
		_, _ = io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, maxBodyBytes))
	}
	w.Header().Set("Cache-Control", "no-store")

	if r.URL.Path != h.path || r.URL.RawQuery != "" {
		writeError(w, http.StatusNotFound, "NotFound", "no such resource")
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET is allowed")
		return
	}
	if !h.hosts[r.Host] {
		writeError(w, http.StatusForbidden, "AccessDenied", "unexpected Host header")
		return
	}
	if !h.authorized(r.Header.Values("Authorization")) {
		writeError(w, http.StatusForbidden, "AccessDenied", "missing or wrong Authorization header")
		return
	}

	// A client that goes away (a child killed mid-request) must not cut off
	// a refresh in flight: the provider runs to its own timeout.
	creds, err := h.call(context.WithoutCancel(r.Context()))
	if h.onServe != nil {
		h.onServe(err)
	}
	if err != nil {
		code, msg := classify(err)
		writeError(w, http.StatusInternalServerError, code, msg)
		return
	}
	// One writer of the container-credentials document (Token, not
	// SessionToken; Expiration always), shared with internal/output's tests.
	var body bytes.Buffer
	if err := output.ContainerCredentials(&body, output.AWSCredentials{
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey,
		SessionToken: creds.SessionToken, Expiration: creds.Expiration, AccountID: creds.AccountID,
	}); err != nil {
		writeError(w, http.StatusInternalServerError, "InternalError", "the provider returned incomplete credentials")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body.Bytes())
}

// authorized compares the one Authorization header with the token in
// constant time.
func (h *handler) authorized(values []string) bool {
	if len(values) != 1 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(values[0]), h.token) == 1
}

// call runs the provider, one call at a time, bounded by h.timeout.
func (h *handler) call(ctx context.Context) (*Credentials, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	creds, err := h.provider(ctx)
	if err == nil && (creds == nil || creds.AccessKeyID == "" || creds.SecretAccessKey == "" || creds.Expiration.IsZero()) {
		err = errIncomplete
	}
	return creds, err
}

// errIncomplete reports a provider that returned no usable credentials.
var errIncomplete = incompleteError{}

type incompleteError struct{}

func (incompleteError) Error() string { return "the provider returned incomplete credentials" }

// classify turns a provider error into a code and a message that carry no
// secret: the underlying message is never sent, only its kind and the
// user hint (for example "run: dagster-oidc login --profile dev").
func classify(err error) (code, message string) {
	switch apperr.KindOf(err) {
	case apperr.KindLoginRequired:
		code, message = "LoginRequired", "dagster-oidc needs a new login"
	case apperr.KindDenied:
		code, message = "AccessDenied", "dagster-oidc was denied credentials"
	default:
		code, message = "InternalError", "dagster-oidc could not get credentials"
	}
	if hint := apperr.HintOf(err); hint != "" {
		message += "; " + hint
	}
	return code, message + " (details in dagster-oidc's log)"
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorBody{Code: code, Message: message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"InternalError","message":"could not encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
