package sandbox

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// githubPath serves GitHub Actions-style ID tokens.
const githubPath = "/github/token"

// GitHub Actions-style token contents.
const (
	// DemoGitHubRepository is the repository of the tokens githubPath
	// issues; their sub is "repo:" + it + ":environment:dev".
	DemoGitHubRepository = "sandbox/pipelines"
	// githubDefaultAudience is GitHub's default aud: the owner's URL.
	githubDefaultAudience = "https://github.com/sandbox"
	githubTokenLifetime   = 5 * time.Minute
)

// githubTokens answers GET githubPath?audience=AUD with
// Authorization: Bearer <request token> as the Actions runtime does
// (actions/toolkit oidc-utils): {"value": "<JWT>"}.
type githubTokens struct {
	s            *Server
	requestToken string
}

func (g *githubTokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "bearer") || subtle.ConstantTimeCompare([]byte(token), []byte(g.requestToken)) != 1 {
		http.Error(w, "bad request token", http.StatusUnauthorized)
		return
	}
	aud := r.URL.Query().Get("audience")
	if aud == "" {
		aud = githubDefaultAudience
	}
	tok, err := g.s.MintIDToken(map[string]any{
		"sub":              "repo:" + DemoGitHubRepository + ":environment:dev",
		"aud":              aud,
		"repository":       DemoGitHubRepository,
		"repository_owner": "sandbox",
		"ref":              "refs/heads/main",
		"environment":      "dev",
		"workflow":         "dagster",
		"event_name":       "push",
		"actor":            "alice",
		"run_id":           "1",
	}, githubTokenLifetime)
	if err != nil {
		http.Error(w, "could not mint the token", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"value": tok})
}

// GitHubRequestURL is the value for ACTIONS_ID_TOKEN_REQUEST_URL.
func (s *Server) GitHubRequestURL() string { return s.issuer + githubPath + "?api-version=2.0" }

// GitHubRequestToken is the value for ACTIONS_ID_TOKEN_REQUEST_TOKEN: a
// random bearer token made at start.
func (s *Server) GitHubRequestToken() string { return s.github.requestToken }
