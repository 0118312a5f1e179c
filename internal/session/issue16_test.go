package session

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
)

// dexTokenEndpoint answers every refresh as Dex v2.45 answers a dead
// refresh token.
func dexTokenEndpoint(t *testing.T, description string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_request","error_description":"`+description+`"}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/token"
}

// TestIssue16_4_DeadRefreshTokenInvalidRequest: with the real refresher
// against a Dex-style answer, the dead refresh token is dropped; without a
// terminal the call exits 3 with the login hint; with one it falls back to a
// new login.
func TestIssue16_4_DeadRefreshTokenInvalidRequest(t *testing.T) {
	for _, tt := range []struct {
		name      string
		canPrompt bool
	}{{"no terminal", false}, {"terminal", true}} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, true)
			if _, err := h.m.Token(t.Context()); err != nil {
				t.Fatal(err)
			}
			h.due()
			h.m.CanPrompt = tt.canPrompt
			tokenURL := dexTokenEndpoint(t, "Refresh token is invalid or has already been claimed by another client.")
			h.m.Refresher = func(context.Context) (Refresher, error) {
				return &flow.Refresher{ClientID: "cli", TokenURL: tokenURL, HTTP: http.DefaultClient}, nil
			}
			res, err := h.m.Token(t.Context())
			if tt.canPrompt {
				if err != nil || h.src.calls != 2 || res.Entry.IDToken != "tok-2" {
					t.Fatalf("res %+v err %v, source calls %d: want a new login", res, err, h.src.calls)
				}
				if rt := h.m.RefreshToken(); rt != "rt-1" {
					t.Errorf("refresh token after the new login = %q", rt)
				}
				return
			}
			if apperr.ExitCode(err) != 3 || apperr.HintOf(err) != "run: dagster-oidc login --profile dev" {
				t.Fatalf("err = %v (exit %d, hint %q)", err, apperr.ExitCode(err), apperr.HintOf(err))
			}
			if h.m.HasRefreshToken() {
				t.Error("the dead refresh token was kept")
			}
			if h.src.calls != 1 {
				t.Errorf("an interactive login started without a terminal")
			}
			if !strings.Contains(h.warn.String(), "no longer accepts the saved login") {
				t.Errorf("warning = %q", h.warn.String())
			}
		})
	}
}
