package gcpsts

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// stsResponse is the RFC 8693 §2.2.1 response as Google's STS sends it.
type stsResponse struct {
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
}

// exchangeSTS posts the token-exchange form of specs.md §2.3.
func (c *Client) exchangeSTS(ctx context.Context, r Request, scopes []string) (*AccessToken, error) {
	form := url.Values{
		"grant_type":           {GrantTypeTokenExchange},
		"audience":             {r.Audience},
		"requested_token_type": {TokenTypeAccessToken},
		"subject_token_type":   {r.subjectTokenType()},
		"subject_token":        {r.SubjectToken},
		"scope":                {strings.Join(scopes, " ")},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.tokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("could not build the google sts request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	start := c.now()
	status, body, err := c.do(req)
	if err != nil {
		return nil, fmt.Errorf("could not call google sts: %w", err)
	}
	if status < 200 || status > 299 {
		return nil, classify(newError(StageSTS, status, body, r.SubjectToken))
	}
	var resp stsResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("could not parse the google sts response: %w", err)
	}
	if resp.AccessToken == "" {
		return nil, fmt.Errorf("google sts returned no access_token")
	}
	// Google's own client rejects a non-positive expires_in as well.
	if resp.ExpiresIn <= 0 {
		return nil, fmt.Errorf("google sts returned an invalid expires_in %d", resp.ExpiresIn)
	}
	return &AccessToken{
		Token:  resp.AccessToken,
		Expiry: start.Add(time.Duration(resp.ExpiresIn) * time.Second),
	}, nil
}
