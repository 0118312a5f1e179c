package gcpsts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ImpersonationURL returns the generateAccessToken URL of a service account
// under base (e.g. DefaultImpersonationURLBase). The "-" project wildcard is
// mandatory (specs.md §2.4).
func ImpersonationURL(base, email string) string {
	if base == "" {
		base = DefaultImpersonationURLBase
	}
	for len(base) > 0 && base[len(base)-1] == '/' {
		base = base[:len(base)-1]
	}
	return base + "/projects/-/serviceAccounts/" + url.PathEscape(email) + ":generateAccessToken"
}

// generateAccessTokenRequest is the IAM Credentials request body.
type generateAccessTokenRequest struct {
	Scope    []string `json:"scope"`
	Lifetime string   `json:"lifetime"`
}

// generateAccessTokenResponse is the IAM Credentials response body.
type generateAccessTokenResponse struct {
	AccessToken string `json:"accessToken"`
	ExpireTime  string `json:"expireTime"`
}

// impersonate calls generateAccessToken with the federated token as Bearer.
func (c *Client) impersonate(ctx context.Context, federated string, r Request) (*AccessToken, error) {
	payload, err := json.Marshal(generateAccessTokenRequest{
		Scope:    r.scopes(),
		Lifetime: strconv.FormatInt(int64(r.lifetime()/time.Second), 10) + "s",
	})
	if err != nil {
		return nil, fmt.Errorf("could not encode the impersonation request: %w", err)
	}
	target := ImpersonationURL(c.impersonationBase(), r.ServiceAccount)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("could not build the impersonation request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+federated)

	status, body, err := c.do(req)
	if err != nil {
		return nil, fmt.Errorf("could not call google iam credentials for %s: %w", r.ServiceAccount, err)
	}
	if status < 200 || status > 299 {
		e := newError(StageImpersonation, status, body, federated, r.SubjectToken)
		e.ServiceAccount = r.ServiceAccount
		return nil, classify(e)
	}
	var resp generateAccessTokenResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("could not parse the impersonation response: %w", err)
	}
	if resp.AccessToken == "" {
		return nil, fmt.Errorf("google iam credentials returned no accessToken for %s", r.ServiceAccount)
	}
	expiry, err := time.Parse(time.RFC3339, resp.ExpireTime)
	if err != nil {
		return nil, fmt.Errorf("could not parse the impersonated token's expireTime: %w", err)
	}
	if !expiry.After(c.now()) {
		return nil, fmt.Errorf("google iam credentials returned a token for %s that expired at %s", r.ServiceAccount, expiry.UTC().Format(time.RFC3339))
	}
	return &AccessToken{Token: resp.AccessToken, Expiry: expiry, ServiceAccount: r.ServiceAccount}, nil
}
