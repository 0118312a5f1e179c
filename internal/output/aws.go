package output

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// AWSCredentials are temporary AWS credentials to print.
type AWSCredentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
	// AccountID is optional; newer SDKs read it, older ones ignore it. It
	// is omitted when empty.
	AccountID string
}

// validate refuses credentials an SDK would reject or, worse, accept as
// never expiring (specs §1.1: without Expiration the SDKs never refresh).
func (c AWSCredentials) validate() error {
	var missing []string
	if c.AccessKeyID == "" {
		missing = append(missing, "access key id")
	}
	if c.SecretAccessKey == "" {
		missing = append(missing, "secret access key")
	}
	if c.SessionToken == "" {
		missing = append(missing, "session token")
	}
	if c.Expiration.IsZero() {
		missing = append(missing, "expiration")
	}
	if len(missing) > 0 {
		return fmt.Errorf("could not print AWS credentials: no %s", strings.Join(missing, ", "))
	}
	return nil
}

// expiration formats the expiry as RFC 3339 in UTC, whole seconds, which
// both aws-sdk-go-v2 (time.Time) and botocore (dateutil) parse.
func (c AWSCredentials) expiration() string {
	return c.Expiration.UTC().Format(time.RFC3339)
}

// processOutput is the credential_process document (specs §1.1).
type processOutput struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration"`
	AccountID       string `json:"AccountId,omitempty"`
}

// CredentialProcess writes the AWS credential_process JSON: one object on
// one line, Version 1, AccessKeyId, SecretAccessKey, SessionToken,
// Expiration (RFC 3339 UTC) and AccountId when known, then a newline.
func CredentialProcess(w io.Writer, c AWSCredentials) error {
	if err := c.validate(); err != nil {
		return err
	}
	return writeJSON(w, processOutput{
		Version:         1,
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		Expiration:      c.expiration(),
		AccountID:       c.AccountID,
	})
}

// containerOutput is the container-credentials document (specs §1.5). The
// session token is "Token", not "SessionToken", and botocore indexes Token
// and Expiration directly, so both are always present.
type containerOutput struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	AccountID       string `json:"AccountId,omitempty"`
}

// ContainerCredentials writes the JSON body a container-credentials
// endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI) answers with: AccessKeyId,
// SecretAccessKey, Token, Expiration and AccountId when known, then a
// newline.
func ContainerCredentials(w io.Writer, c AWSCredentials) error {
	if err := c.validate(); err != nil {
		return err
	}
	return writeJSON(w, containerOutput{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		Token:           c.SessionToken,
		Expiration:      c.expiration(),
		AccountID:       c.AccountID,
	})
}

// writeJSON writes v as one line of JSON and a newline, with the controls
// termsafe.JSON escapes escaped.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("could not encode the credentials: %w", err)
	}
	b = append(termsafe.JSON(b), '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("could not write the credentials: %w", err)
	}
	return nil
}
