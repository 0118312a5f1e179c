package flow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
)

// Refresher redeems a refresh token at the token endpoint (RFC 6749 §6).
type Refresher struct {
	ClientID     string
	ClientSecret string
	Scopes       []string
	TokenURL     string
	HTTP         *http.Client
}

// ErrRefreshRejected means the IdP no longer accepts the refresh token
// (expired, revoked, or reused after rotation); a new login is needed.
var ErrRefreshRejected = errors.New("the identity provider rejected the refresh token")

// Refresh redeems rt. The returned token's RefreshToken is the rotated one,
// or rt again when the IdP did not rotate it. Its IDToken may be empty: OIDC
// Core §12.2 allows a refresh answer without an id_token.
func (r *Refresher) Refresh(ctx context.Context, rt string) (*Token, error) {
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {rt},
		"client_id":     {r.ClientID},
	}
	if len(r.Scopes) > 0 {
		form.Set("scope", strings.Join(r.Scopes, " "))
	}
	tr, _, err := postForm(ctx, r.HTTP, r.TokenURL, form, r.ClientSecret)
	if err != nil {
		var oe *OAuthError
		if errors.As(err, &oe) && refreshRejected(oe) {
			return nil, apperr.LoginRequired(fmt.Errorf("%w (%s)", ErrRefreshRejected, oe.Code), "")
		}
		return nil, fmt.Errorf("could not refresh the login: %w", err)
	}
	next := tr.RefreshToken
	if next == "" {
		next = rt
	}
	return &Token{IDToken: tr.IDToken, RefreshToken: next, Source: "refresh"}, nil
}

// refreshRejected reports whether an error answer to a refresh grant means
// the refresh token is dead. RFC 6749 §5.2 says invalid_grant; some servers
// say invalid_token; Dex (v2.45) answers 400 invalid_request both for a
// token that was rotated away ("Refresh token is invalid or has already been
// claimed by another client.") and for an expired one ("Refresh token
// expired."). Only a 400 counts for invalid_request: a 5xx is the server's
// trouble, not the token's.
func refreshRejected(oe *OAuthError) bool {
	switch oe.Code {
	case "invalid_grant", "invalid_token":
		return true
	case "invalid_request":
		return oe.StatusCode == http.StatusBadRequest
	}
	return false
}

// Revoke revokes a refresh token at the IdP's revocation endpoint (RFC 7009).
func (r *Refresher) Revoke(ctx context.Context, revocationURL, token string) error {
	form := url.Values{"token": {token}, "token_type_hint": {"refresh_token"}, "client_id": {r.ClientID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, revocationURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(r.ClientID), url.QueryEscape(r.ClientSecret))
	}
	resp, err := httpClient(r.HTTP).Do(req)
	if err != nil {
		return fmt.Errorf("could not reach the revocation endpoint %s: %w", endpointName(revocationURL), redactURLError(err))
	}
	defer resp.Body.Close()
	_, _ = readCapped(resp.Body)
	// RFC 7009 §2.2: 200 also for tokens that were already invalid.
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the revocation endpoint %s answered HTTP %d", endpointName(revocationURL), resp.StatusCode)
	}
	return nil
}
