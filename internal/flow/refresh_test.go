package flow_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// sandboxRefreshToken logs alice in with the device flow (approved through
// the sandbox's API) and returns the refresh token.
func sandboxRefreshToken(t *testing.T, sb *sandbox.Server, meta *flow.Metadata) string {
	t.Helper()
	post := func(endpoint string, form url.Values) map[string]any {
		t.Helper()
		resp, err := http.PostForm(endpoint, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: HTTP %d %v %v", endpoint, resp.StatusCode, out, err)
		}
		return out
	}
	da := post(meta.DeviceAuthURL, url.Values{"client_id": {sb.ClientID()}, "scope": {"openid offline_access"}})
	if err := sb.ApproveDevice(t.Context(), da["user_code"].(string), "alice"); err != nil {
		t.Fatal(err)
	}
	tok := post(meta.TokenURL, url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da["device_code"].(string)}, "client_id": {sb.ClientID()},
	})
	rt, _ := tok["refresh_token"].(string)
	if rt == "" {
		t.Fatalf("no refresh token in %v", tok)
	}
	return rt
}

// dexRefreshErrors sits in front of the sandbox's token endpoint and turns
// its refusal of a dead refresh token (400 invalid_grant) into what Dex
// v2.45 answers: 400 invalid_request with one of its descriptions.
func dexRefreshErrors(t *testing.T, tokenURL, description string) string {
	t.Helper()
	target, err := url.Parse(tokenURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target); r.Out.URL.Path = target.Path },
		ModifyResponse: func(resp *http.Response) error {
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			var e struct {
				Error string `json:"error"`
			}
			if resp.StatusCode == http.StatusBadRequest && json.Unmarshal(body, &e) == nil && e.Error == "invalid_grant" {
				body, _ = json.Marshal(map[string]string{"error": "invalid_request", "error_description": description})
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
			return nil
		},
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL + target.Path
}

// TestIssue16_4_DexInvalidRequestIsRejection: Dex refuses a refresh token
// that was rotated away or has expired with 400 invalid_request, not
// invalid_grant. That is a rejection (a new login is needed, exit 3), not a
// transient failure that keeps re-sending a dead token.
func TestIssue16_4_DexInvalidRequestIsRejection(t *testing.T) {
	for _, desc := range []string{
		"Refresh token is invalid or has already been claimed by another client.",
		"Refresh token expired.",
	} {
		t.Run(desc, func(t *testing.T) {
			sb, err := sandbox.Start(t.Context(), sandbox.Options{RotateRefreshTokens: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sb.Close() })
			meta, err := (&flow.Discovery{Issuer: sb.Issuer(), HTTP: http.DefaultClient}).Metadata(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			rt := sandboxRefreshToken(t, sb, meta)
			r := &flow.Refresher{ClientID: sb.ClientID(), TokenURL: dexRefreshErrors(t, meta.TokenURL, desc), HTTP: http.DefaultClient}

			tok, err := r.Refresh(t.Context(), rt)
			if err != nil {
				t.Fatalf("first refresh: %v", err)
			}
			if tok.RefreshToken == rt || tok.IDToken == "" {
				t.Fatalf("the sandbox did not rotate: %+v", tok)
			}
			// rt is now dead at the IdP: presenting it again is refused.
			_, err = r.Refresh(t.Context(), rt)
			if !errors.Is(err, flow.ErrRefreshRejected) {
				t.Fatalf("err = %v, want ErrRefreshRejected", err)
			}
			if apperr.ExitCode(err) != 3 {
				t.Errorf("exit code = %d, want 3", apperr.ExitCode(err))
			}
			if !strings.Contains(err.Error(), "invalid_request") || strings.Contains(err.Error(), rt) {
				t.Errorf("message = %q: should name the code and never the token", err)
			}
		})
	}
}

// TestRefreshInvalidRequestOnlyOn400: an invalid_request that is not a
// 400 (a proxy's or a broken server's 5xx) stays a transient failure.
func TestRefreshInvalidRequestOnlyOn400(t *testing.T) {
	tokenURL := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"error":"invalid_request","error_description":"upstream down"}`)
	}))
	_, err := (&flow.Refresher{ClientID: "c", TokenURL: tokenURL, HTTP: http.DefaultClient}).Refresh(t.Context(), "rt-1")
	if err == nil || errors.Is(err, flow.ErrRefreshRejected) || apperr.ExitCode(err) == 3 {
		t.Fatalf("err = %v (exit %d), want a transient failure", err, apperr.ExitCode(err))
	}
}
