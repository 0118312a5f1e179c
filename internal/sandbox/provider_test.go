package sandbox

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

func TestDiscoveryAndJWKS(t *testing.T) {
	s := startServer(t, Options{})
	if strings.HasSuffix(s.Issuer(), "/") || !strings.HasPrefix(s.Issuer(), "http://127.0.0.1:") {
		t.Fatalf("Issuer() = %q, want http://127.0.0.1:PORT", s.Issuer())
	}
	var disc struct {
		Issuer                      string   `json:"issuer"`
		JWKSURI                     string   `json:"jwks_uri"`
		TokenEndpoint               string   `json:"token_endpoint"`
		DeviceAuthorizationEndpoint string   `json:"device_authorization_endpoint"`
		CodeChallengeMethods        []string `json:"code_challenge_methods_supported"`
	}
	getJSON(t, s.Issuer()+"/.well-known/openid-configuration", &disc)
	if disc.Issuer != s.Issuer() {
		t.Errorf("discovery issuer = %q, want %q", disc.Issuer, s.Issuer())
	}
	if disc.TokenEndpoint != s.Issuer()+"/oauth/token" || disc.DeviceAuthorizationEndpoint != s.Issuer()+"/device_authorization" {
		t.Errorf("endpoints = %q, %q", disc.TokenEndpoint, disc.DeviceAuthorizationEndpoint)
	}
	if !strings.Contains(strings.Join(disc.CodeChallengeMethods, " "), "S256") {
		t.Errorf("code_challenge_methods_supported = %v, want S256", disc.CodeChallengeMethods)
	}
	var jwks struct {
		Keys []struct{ Kty, Kid, Alg, Use string } `json:"keys"`
	}
	getJSON(t, disc.JWKSURI, &jwks)
	if len(jwks.Keys) != 1 || jwks.Keys[0].Kty != "RSA" || jwks.Keys[0].Alg != "RS256" || jwks.Keys[0].Kid == "" {
		t.Errorf("JWKS keys = %+v, want one RS256 RSA key with a kid", jwks.Keys)
	}
}

func TestDeviceFlow(t *testing.T) {
	s := startServer(t, Options{})
	tests := []struct {
		name        string
		user        string
		viaPage     bool
		deny        bool
		wantGroups  any
		wantPolicy  any
		wantErrCode string
	}{
		{name: "ApproveDevice alice", user: "alice", wantGroups: []any{"data-eng"}, wantPolicy: "readwrite"},
		{name: "device page bob", user: "bob", viaPage: true, wantGroups: []any{"analysts"}, wantPolicy: "readonly"},
		{name: "mallory has no groups or policy", user: "mallory"},
		{name: "denied", deny: true, wantErrCode: "access_denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, p := oauthConfig(t, s, "")
			da, err := cfg.DeviceAuth(t.Context())
			if err != nil {
				t.Fatalf("DeviceAuth: %v", err)
			}
			if da.Interval != 1 || da.VerificationURI != s.DeviceURL() || !strings.Contains(da.VerificationURIComplete, "user_code=") {
				t.Errorf("device answer = %+v", da)
			}
			switch {
			case tt.deny:
				err = s.DenyDevice(t.Context(), da.UserCode)
			case tt.viaPage:
				err = approveOnPage(t, s, da.UserCode, tt.user)
			default:
				err = s.ApproveDevice(t.Context(), strings.ToLower(da.UserCode), tt.user)
			}
			if err != nil {
				t.Fatalf("deciding: %v", err)
			}
			tok, err := cfg.DeviceAccessToken(t.Context(), da)
			if tt.wantErrCode != "" {
				var re *oauth2.RetrieveError
				if !errors.As(err, &re) || re.ErrorCode != tt.wantErrCode {
					t.Fatalf("DeviceAccessToken error = %v, want %s", err, tt.wantErrCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("DeviceAccessToken: %v", err)
			}
			if tok.RefreshToken == "" {
				t.Error("no refresh token (quirk 3)")
			}
			claims := verifyIDToken(t, p, s.ClientID(), tok.Extra("id_token").(string))
			u := userByID(t, s, tt.user)
			want := map[string]any{"sub": u.ID, "email": u.Email, "email_verified": u.EmailVerified, "name": u.Name, "groups": tt.wantGroups, "policy": tt.wantPolicy}
			got := map[string]any{}
			for k := range want {
				got[k] = claims[k]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ID token claims (-want +got):\n%s", diff)
			}
			if claims["auth_time"] == nil {
				t.Error("ID token lacks auth_time")
			}
			// The device code is redeemed once.
			if _, err := cfg.DeviceAccessToken(t.Context(), da); err == nil {
				t.Error("device code redeemed twice")
			}
		})
	}
	if got := s.Stats().TokenRequests["device_code"]; got < 4 {
		t.Errorf("device_code token requests = %d, want at least 4", got)
	}
}

func TestDeviceDecisionErrors(t *testing.T) {
	s := startServer(t, Options{})
	if err := s.ApproveDevice(t.Context(), "BCDF-GHJK", "alice"); err == nil {
		t.Error("approving an unknown user code succeeded")
	}
	if err := s.DenyDevice(t.Context(), "BCDF-GHJK"); err == nil {
		t.Error("denying an unknown user code succeeded")
	}
	cfg, _ := oauthConfig(t, s, "")
	da, err := cfg.DeviceAuth(t.Context())
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	if err := s.ApproveDevice(t.Context(), da.UserCode, "nobody"); err == nil {
		t.Error("approving as an unknown user succeeded")
	}
	if err := s.ApproveDevice(t.Context(), da.UserCode, "alice"); err != nil {
		t.Fatalf("ApproveDevice: %v", err)
	}
	if err := s.DenyDevice(t.Context(), da.UserCode); err == nil {
		t.Error("denying an approved code succeeded")
	}
}

func TestSlowDown(t *testing.T) {
	s := startServer(t, Options{SlowDownPolls: 2})
	cfg, _ := oauthConfig(t, s, "")
	da, err := cfg.DeviceAuth(t.Context())
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	poll := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da.DeviceCode}, "client_id": {s.ClientID()}}
	var got []string
	for range 3 {
		status, body := tokenPost(t, s, poll)
		if status != http.StatusBadRequest {
			t.Errorf("status = %d, want 400", status)
		}
		got = append(got, body["error"].(string))
	}
	if diff := cmp.Diff([]string{"slow_down", "slow_down", "authorization_pending"}, got); diff != "" {
		t.Errorf("poll answers (-want +got):\n%s", diff)
	}
	st := s.Stats()
	if st.SlowDowns != 2 || st.TokenRequests["device_code"] != 3 {
		t.Errorf("stats = %+v, want 2 slow downs of 3 device polls", st)
	}
}

func TestAuthCodePKCE(t *testing.T) {
	s := startServer(t, Options{})
	tests := []struct {
		name     string
		redirect string
		password string
		wantOK   bool
	}{
		{name: "127.0.0.1 any port and path", redirect: "http://127.0.0.1:49152/callback", password: "alice-password", wantOK: true},
		{name: "127.0.0.1 root", redirect: "http://127.0.0.1:8400/", password: "alice-password", wantOK: true},
		{name: "localhost", redirect: "http://localhost:8401/oauth/cb", password: "alice-password", wantOK: true},
		{name: "ipv6 loopback", redirect: "http://[::1]:8402/a/b", password: "alice-password", wantOK: true},
		{name: "wrong password", redirect: "http://127.0.0.1:49152/callback", password: "nope"},
		{name: "non-loopback redirect", redirect: "http://evil.example:8403/callback", password: "alice-password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, p := oauthConfig(t, s, tt.redirect)
			verifier := oauth2.GenerateVerifier()
			authURL := cfg.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "n0nce"))
			loc, page, err := browse(t, s, authURL, "alice", tt.password)
			if !tt.wantOK {
				if err == nil || (loc != nil && loc.Query().Get("code") != "") {
					t.Fatalf("login gave a code: %v %v", loc, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("browser: %v", err)
			}
			for _, id := range []string{`id="username"`, `id="password"`, `id="submit"`} {
				if !strings.Contains(page, id) {
					t.Errorf("login page lacks %s", id)
				}
			}
			if !strings.HasPrefix(loc.String(), tt.redirect) || loc.Query().Get("state") != "st4te" {
				t.Fatalf("redirected to %s", loc.Redacted())
			}
			code := loc.Query().Get("code")
			if _, err := cfg.Exchange(t.Context(), code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
				t.Fatal("exchange with a wrong verifier succeeded")
			}
			// A failed PKCE check leaves the code redeemable by its rightful owner.
			tok, err := cfg.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			claims := verifyIDToken(t, p, s.ClientID(), tok.Extra("id_token").(string))
			if claims["nonce"] != "n0nce" || claims["sub"] != "alice" || claims["email"] != "alice@example.com" {
				t.Errorf("claims = %v", claims)
			}
			if tok.RefreshToken == "" {
				t.Error("no refresh token for offline_access")
			}
		})
	}
	if got := s.Stats().TokenRequests["authorization_code"]; got != 8 {
		t.Errorf("authorization_code token requests = %d, want 8", got)
	}
}

func TestRefresh(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		check  func(t *testing.T, s *Server, rt string)
		stats  func(st Stats) bool
		expect string
	}{
		{
			name: "no rotation keeps the refresh token",
			opts: Options{},
			check: func(t *testing.T, s *Server, rt string) {
				for range 2 {
					body := mustRefresh(t, s, rt)
					if body["refresh_token"] != rt || body["id_token"] == nil {
						t.Errorf("refresh answer = %v, want the same refresh token and an id_token", keys(body))
					}
				}
			},
			stats:  func(st Stats) bool { return st.RefreshReuses == 0 && st.TokenRequests["refresh_token"] == 2 },
			expect: "no reuse, two refreshes",
		},
		{
			name: "rotation invalidates the old token",
			opts: Options{RotateRefreshTokens: true},
			check: func(t *testing.T, s *Server, rt string) {
				rt2 := mustRefresh(t, s, rt)["refresh_token"].(string)
				if rt2 == rt {
					t.Fatal("refresh token not rotated")
				}
				wantInvalidGrant(t, s, rt)
				mustRefresh(t, s, rt2)
			},
			stats:  func(st Stats) bool { return st.RefreshReuses == 1 && st.GrantsRevoked == 0 },
			expect: "one reuse, no revocation",
		},
		{
			name: "reuse revokes the grant",
			opts: Options{RotateRefreshTokens: true, RevokeOnRefreshReuse: true},
			check: func(t *testing.T, s *Server, rt string) {
				rt2 := mustRefresh(t, s, rt)["refresh_token"].(string)
				wantInvalidGrant(t, s, rt)
				wantInvalidGrant(t, s, rt2)
			},
			stats:  func(st Stats) bool { return st.RefreshReuses == 1 && st.GrantsRevoked == 1 },
			expect: "one reuse, one revocation",
		},
		{
			name: "omit id_token on refresh",
			opts: Options{OmitIDTokenOnRefresh: true},
			check: func(t *testing.T, s *Server, rt string) {
				body := mustRefresh(t, s, rt)
				if _, ok := body["id_token"]; ok || body["access_token"] == nil {
					t.Errorf("refresh answer keys = %v, want access_token and no id_token", keys(body))
				}
			},
			stats:  func(st Stats) bool { return st.TokenRequests["refresh_token"] == 1 },
			expect: "one refresh",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, tt.opts)
			tok, _ := authCodeLogin(t, s, "alice", "alice-password")
			if tok.Extra("id_token") == nil {
				t.Fatal("the first token answer has no id_token")
			}
			tt.check(t, s, tok.RefreshToken)
			if st := s.Stats(); !tt.stats(st) {
				t.Errorf("stats = %+v, want %s", st, tt.expect)
			}
		})
	}
}

func TestRefreshIDTokenClaims(t *testing.T) {
	s := startServer(t, Options{RotateRefreshTokens: true})
	tok, p := authCodeLogin(t, s, "bob", "bob-password")
	body := mustRefresh(t, s, tok.RefreshToken)
	claims := verifyIDToken(t, p, s.ClientID(), body["id_token"].(string))
	if claims["sub"] != "bob" || claims["policy"] != "readonly" || claims["email"] != "bob@example.com" {
		t.Errorf("refreshed ID token claims = %v", claims)
	}
}

func mustRefresh(t *testing.T, s *Server, rt string) map[string]any {
	t.Helper()
	status, body := tokenPost(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {s.ClientID()}})
	if status != http.StatusOK {
		t.Fatalf("refresh status = %d, body %v", status, body)
	}
	return body
}

func wantInvalidGrant(t *testing.T, s *Server, rt string) {
	t.Helper()
	status, body := tokenPost(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {s.ClientID()}})
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("refresh answer = %d %v, want 400 invalid_grant", status, body)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func userByID(t *testing.T, s *Server, id string) User {
	t.Helper()
	for _, u := range s.Users() {
		if u.ID == id {
			return u
		}
	}
	t.Fatalf("no user %q", id)
	return User{}
}

// approveOnPage approves a user code the way a person does on /device.
func approveOnPage(t *testing.T, s *Server, userCode, user string) error {
	t.Helper()
	_, page, err := get(t.Context(), http.DefaultClient, s.DeviceURL()+"?user_code="+url.QueryEscape(userCode))
	if err != nil {
		return err
	}
	if !strings.Contains(page, `value="`+userCode+`"`) {
		t.Errorf("device page does not prefill the user code")
	}
	form := url.Values{"user_code": {userCode}, "username": {user}, "password": {user + "-password"}, "action": {"approve"}}
	resp, err := postForm(t.Context(), http.DefaultClient, s.DeviceURL(), form)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &statusError{resp.StatusCode}
	}
	return nil
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	_, body, err := get(t.Context(), http.DefaultClient, u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("decode %s: %v", u, err)
	}
}
