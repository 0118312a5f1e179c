package gcpfake

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// generateAccessTokenSuffix ends the last path segment of generateAccessToken.
const generateAccessTokenSuffix = ":generateAccessToken"

// handleGenerateAccessToken is
// POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken.
func (s *Server) handleGenerateAccessToken(w http.ResponseWriter, r *http.Request) {
	call := IAMCall{}
	call.Status = s.generateAccessToken(w, r, &call)
	s.mu.Lock()
	s.iamCalls = append(s.iamCalls, call)
	s.mu.Unlock()
}

func (s *Server) generateAccessToken(w http.ResponseWriter, r *http.Request, call *IAMCall) int {
	name := r.PathValue("name")
	email, ok := strings.CutSuffix(name, generateAccessTokenSuffix)
	if !ok {
		return writeGoogleError(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
	}
	call.ServiceAccount = email

	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	fed, known := s.federated[bearer]
	s.mu.Unlock()
	if !ok || !known || !s.opts.Clock.Now().Before(fed.expiry) {
		return writeGoogleError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
	}
	if !slices.Contains(fed.scopes, scopeCloudPlatform) {
		return writeGoogleError(w, http.StatusForbidden, "PERMISSION_DENIED", "Request had insufficient authentication scopes.")
	}
	call.Subject = fed.subject

	var body struct {
		Scope    []string `json:"scope"`
		Lifetime string   `json:"lifetime"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return writeGoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.")
	}
	call.Scope, call.Lifetime = body.Scope, body.Lifetime
	if len(body.Scope) == 0 {
		return writeGoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Scope required.")
	}
	lifetime := time.Hour
	if body.Lifetime != "" {
		secs, err := strconv.ParseInt(strings.TrimSuffix(body.Lifetime, "s"), 10, 64)
		if err != nil || !strings.HasSuffix(body.Lifetime, "s") || secs <= 0 {
			return writeGoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid value at 'lifetime'.")
		}
		lifetime = time.Duration(secs) * time.Second
	}
	if lifetime > s.opts.MaxLifetime {
		return writeGoogleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The lifetime requested exceeds the maximum allowed lifetime of "+strconv.Itoa(int(s.opts.MaxLifetime/time.Second))+" seconds.")
	}
	if !s.opts.ServiceAccounts[email] {
		return writeGoogleError(w, http.StatusForbidden, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")
	}

	expiry := s.opts.Clock.Now().Add(lifetime).UTC().Truncate(time.Second)
	s.mu.Lock()
	tok := s.newToken("ya29.sa.")
	s.mu.Unlock()
	return writeJSON(w, http.StatusOK, map[string]string{
		"accessToken": tok,
		"expireTime":  expiry.Format(time.RFC3339),
	})
}
