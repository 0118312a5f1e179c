package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// tokenResponse is a token endpoint answer, success or error (RFC 6749 §5).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	ExpiresIn    int64  `json:"expires_in"`

	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// OAuthError is an error answer of an authorization server. It holds no token.
type OAuthError struct {
	Endpoint    string
	StatusCode  int
	Code        string
	Description string
}

// Error returns "<endpoint> answered <code>: <description>".
func (e *OAuthError) Error() string {
	msg := fmt.Sprintf("%s answered %s", e.Endpoint, e.Code)
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// postForm posts form to endpoint and decodes a token response. A non-JSON or
// oversized answer is an error naming the endpoint.
func postForm(ctx context.Context, client *http.Client, endpoint string, form url.Values, clientSecret string) (*tokenResponse, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if clientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(form.Get("client_id")), url.QueryEscape(clientSecret))
	}
	resp, err := httpClient(client).Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("could not reach %s: %w", endpointName(endpoint), redactURLError(err))
	}
	defer resp.Body.Close()
	body, err := readCapped(resp.Body)
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("reading the answer of %s: %w", endpointName(endpoint), err)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, resp.StatusCode, fmt.Errorf("%s answered HTTP %d with something that is not JSON", endpointName(endpoint), resp.StatusCode)
	}
	if tr.Error != "" {
		return &tr, resp.StatusCode, &OAuthError{Endpoint: endpointName(endpoint), StatusCode: resp.StatusCode, Code: termsafe.Clean(tr.Error), Description: termsafe.Clean(tr.ErrorDescription)}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode, fmt.Errorf("%s answered HTTP %d", endpointName(endpoint), resp.StatusCode)
	}
	return &tr, resp.StatusCode, nil
}

// endpointName strips the query from an endpoint URL for messages.
func endpointName(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "the token endpoint"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// redactURLError drops the *url.Error layer of a transport error, whose
// URL may carry a query and which the caller names itself; a timeout reads
// as a TimeoutError (see plainTimeout).
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return plainTimeout(ue).Err
	}
	return err
}

// plainTimeout gives a timed-out HTTP call one wording, whichever fired
// first: the HTTP client's timeout (DAGSTER_OIDC_HTTP_TIMEOUT) or the
// caller's deadline. Go words them "Client.Timeout exceeded while awaiting
// headers" and "context deadline exceeded".
func plainTimeout(ue *url.Error) *url.Error {
	if ue.Timeout() {
		ue.Err = &TimeoutError{Err: ue.Err}
	}
	return ue
}

// TimeoutError is an HTTP call to the identity provider or the platform
// that got no answer in time. Err is Go's own error (it unwraps to
// context.DeadlineExceeded when that is what fired).
type TimeoutError struct{ Err error }

func (e *TimeoutError) Error() string { return "timed out waiting for an answer" }

// Unwrap returns Go's own error.
func (e *TimeoutError) Unwrap() error { return e.Err }

// Timeout reports true, as net.Error does.
func (e *TimeoutError) Timeout() bool { return true }
