package gcpfake

import (
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"time"
)

// RFC 8693 values the fake insists on (specs.md §2.3).
const (
	grantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeJWT           = "urn:ietf:params:oauth:token-type:jwt"
	tokenTypeIDToken       = "urn:ietf:params:oauth:token-type:id_token"
	scopeCloudPlatform     = "https://www.googleapis.com/auth/cloud-platform"
	audiencePrefix         = "//iam.googleapis.com/"
)

// handleToken is POST /v1/token: the STS token exchange.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	status := s.token(w, r)
	s.mu.Lock()
	s.stsCalls = append(s.stsCalls, STSCall{Form: r.PostForm, Status: status})
	s.mu.Unlock()
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) int {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Content-Type must be application/x-www-form-urlencoded.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Unable to parse the request body.")
	}
	f := r.PostForm
	if got := f.Get("grant_type"); got != grantTypeTokenExchange {
		return writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid value for \"grant_type\": "+got)
	}
	if got := f.Get("requested_token_type"); got != tokenTypeAccessToken {
		return writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid value for \"requested_token_type\". Only \"urn:ietf:params:oauth:token-type:access_token\" is supported.")
	}
	if got := f.Get("subject_token_type"); got != tokenTypeJWT && got != tokenTypeIDToken {
		return writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid value for \"subject_token_type\": "+got)
	}
	audience := f.Get("audience")
	if !strings.HasPrefix(audience, audiencePrefix) {
		return writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid value for \"audience\". This value should be the full resource name of the Identity Provider.")
	}
	if audience != s.opts.Audience {
		return writeOAuthError(w, http.StatusBadRequest, "invalid_target", "The target service indicated by the \"audience\" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.")
	}
	scopes := strings.Fields(f.Get("scope"))
	if len(scopes) == 0 {
		return writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "The \"scope\" parameter is required.")
	}
	for _, sc := range scopes {
		if !strings.HasPrefix(sc, "https://www.googleapis.com/auth/") {
			return writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "Invalid value for \"scope\": "+sc)
		}
	}
	raw := f.Get("subject_token")
	if raw == "" {
		return writeOAuthError(w, http.StatusBadRequest, "invalid_request", "The \"subject_token\" parameter is required.")
	}
	sub, err := s.opts.Verify(r.Context(), raw)
	if err != nil {
		return writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "The ID Token could not be verified: "+err.Error())
	}

	s.mu.Lock()
	tok := s.newToken("ya29.fed.")
	s.federated[tok] = federatedToken{subject: sub, scopes: scopes, expiry: s.opts.Clock.Now().Add(s.opts.TokenLifetime)}
	s.mu.Unlock()
	return writeJSON(w, http.StatusOK, map[string]any{
		"access_token":      tok,
		"issued_token_type": tokenTypeAccessToken,
		"token_type":        "Bearer",
		"expires_in":        int64(s.opts.TokenLifetime / time.Second),
	})
}

// writeOAuthError answers in STS's error shape (RFC 6749 §5.2).
func writeOAuthError(w http.ResponseWriter, status int, code, description string) int {
	return writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// writeGoogleError answers in the Google API error shape IAM Credentials uses.
func writeGoogleError(w http.ResponseWriter, status int, apiStatus, message string) int {
	return writeJSON(w, status, map[string]any{
		"error": map[string]any{"code": status, "message": message, "status": apiStatus},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
	return status
}
