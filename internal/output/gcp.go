package output

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// Token types of Google's executable-sourced credentials (specs.md §2.2).
const (
	// GCPTokenTypeIDToken is the default token_type of GCPExecutable.
	GCPTokenTypeIDToken = "urn:ietf:params:oauth:token-type:id_token"
	// GCPTokenTypeJWT is the other token type Google accepts for an id_token.
	GCPTokenTypeJWT = "urn:ietf:params:oauth:token-type:jwt"
)

// GCPExecutableResult is a successful executable-sourced credential response.
type GCPExecutableResult struct {
	// IDToken is the subject token handed to Google STS.
	IDToken string
	// Expiry becomes expiration_time. Pass the ID token's exp minus a safety
	// margin: Google's libraries reuse an output_file until that instant.
	Expiry time.Time
	// TokenType defaults to GCPTokenTypeIDToken.
	TokenType string
}

// gcpExecutableResponse is the executable response JSON, keys in the order
// Google documents them.
type gcpExecutableResponse struct {
	Version        int    `json:"version"`
	Success        bool   `json:"success"`
	TokenType      string `json:"token_type,omitempty"`
	IDToken        string `json:"id_token,omitempty"`
	ExpirationTime int64  `json:"expiration_time,omitempty"`
	Code           string `json:"code,omitempty"`
	Message        string `json:"message,omitempty"`
}

// gcpResponseFor validates r and builds its response document.
func gcpResponseFor(r GCPExecutableResult) (gcpExecutableResponse, error) {
	tokenType := r.TokenType
	if tokenType == "" {
		tokenType = GCPTokenTypeIDToken
	}
	switch {
	case r.IDToken == "":
		return gcpExecutableResponse{}, errors.New("the id token is empty")
	case r.Expiry.IsZero():
		return gcpExecutableResponse{}, errors.New("the id token has no expiry")
	case tokenType != GCPTokenTypeIDToken && tokenType != GCPTokenTypeJWT:
		return gcpExecutableResponse{}, fmt.Errorf("unsupported token type %q", tokenType)
	}
	return gcpExecutableResponse{
		Version:        1,
		Success:        true,
		TokenType:      tokenType,
		IDToken:        r.IDToken,
		ExpirationTime: r.Expiry.Unix(),
	}, nil
}

// GCPExecutable writes the success response of an executable-sourced
// credential (specs.md §2.2):
// {"version":1,"success":true,"token_type":...,"id_token":...,"expiration_time":UNIX}.
func GCPExecutable(w io.Writer, r GCPExecutableResult) error {
	resp, err := gcpResponseFor(r)
	if err != nil {
		return fmt.Errorf("could not print the gcp executable response: %w", err)
	}
	return gcpWriteJSON(w, resp)
}

// GCPExecutableError writes the failure response
// {"version":1,"success":false,"code":...,"message":...}. Google's libraries
// require both fields and a non-zero exit status from the executable.
func GCPExecutableError(w io.Writer, code, message string) error {
	if code == "" || message == "" {
		return errors.New("could not print the gcp executable error: code and message are required")
	}
	return gcpWriteJSON(w, gcpExecutableResponse{Version: 1, Success: false, Code: code, Message: message})
}

// GCPExecutableFailure writes the failure response for err: its code from
// the error's kind (401 login required, 403 denied, 400 usage, 499
// interrupted, else 500) and the error with its hint on one line.
func GCPExecutableFailure(w io.Writer, err error) error {
	code := "500"
	switch apperr.KindOf(err) {
	case apperr.KindLoginRequired:
		code = "401"
	case apperr.KindDenied:
		code = "403"
	case apperr.KindUsage:
		code = "400"
	case apperr.KindInterrupted:
		code = "499"
	}
	msg := err.Error()
	if hint := apperr.HintOf(err); hint != "" {
		msg += "; " + hint
	}
	return GCPExecutableError(w, code, strings.Join(strings.Fields(msg), " "))
}

// GCPToken is a Google Cloud access token to print.
type GCPToken struct {
	// AccessToken is the bearer token.
	AccessToken string
	// Expiry is when it stops working.
	Expiry time.Time
	// ServiceAccount is the impersonated account, empty for a federated token.
	ServiceAccount string
}

// GCP access-token formats accepted by GCPAccessToken.
const (
	GCPFormatRaw  = "raw"
	GCPFormatJSON = "json"
	GCPFormatEnv  = "env"
)

// gcpTokenJSON is the json format of GCPAccessToken.
type gcpTokenJSON struct {
	AccessToken    string `json:"access_token"`
	TokenType      string `json:"token_type"`
	Expiry         string `json:"expiry"`
	ServiceAccount string `json:"service_account,omitempty"`
}

// GCPAccessToken prints t as "raw" (the token and a newline), "json"
// ({"access_token","token_type":"Bearer","expiry":RFC3339,"service_account"})
// or "env" (sh export lines for CLOUDSDK_AUTH_ACCESS_TOKEN, read by gcloud,
// and GOOGLE_OAUTH_ACCESS_TOKEN, read by Terraform's google provider).
func GCPAccessToken(w io.Writer, format string, t GCPToken) error {
	if t.AccessToken == "" {
		return errors.New("could not print the gcp access token: it is empty")
	}
	var err error
	switch format {
	case GCPFormatRaw:
		_, err = io.WriteString(w, t.AccessToken+"\n")
	case GCPFormatJSON:
		err = gcpWriteJSON(w, gcpTokenJSON{
			AccessToken:    t.AccessToken,
			TokenType:      "Bearer",
			Expiry:         t.Expiry.UTC().Format(time.RFC3339),
			ServiceAccount: t.ServiceAccount,
		})
	case GCPFormatEnv:
		q := gcpShellQuote(t.AccessToken)
		_, err = io.WriteString(w, "export CLOUDSDK_AUTH_ACCESS_TOKEN="+q+"\nexport GOOGLE_OAUTH_ACCESS_TOKEN="+q+"\n")
	default:
		return fmt.Errorf("unknown gcp token format %q (want %s, %s or %s)", format, GCPFormatRaw, GCPFormatJSON, GCPFormatEnv)
	}
	if err != nil {
		return fmt.Errorf("could not print the gcp access token: %w", err)
	}
	return nil
}

// gcpShellQuote quotes s for POSIX sh with single quotes.
func gcpShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// gcpWriteJSON writes v as one compact JSON line, with the controls
// termsafe.JSON escapes escaped.
func gcpWriteJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("could not encode the response: %w", err)
	}
	if _, err := w.Write(append(termsafe.JSON(b), '\n')); err != nil {
		return fmt.Errorf("could not write the response: %w", err)
	}
	return nil
}
