package awssts

import (
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/redact"
)

// Credentials are the temporary credentials STS returned and what it said
// about the session.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
	// AssumedRoleARN is the assumed-role ARN of the session
	// (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION).
	AssumedRoleARN string
	// AccountID is the account of AssumedRoleARN, "" if it has none.
	AccountID string
	// SubjectFromToken is the sub claim STS read from the token.
	SubjectFromToken string
	// Audience is the aud claim STS matched.
	Audience string
	// Provider is the issuer STS matched.
	Provider string
	// SourceIdentity is the source identity taken from the token, if any.
	SourceIdentity string
}

// successResponse is the AssumeRoleWithWebIdentityResponse document (specs
// §1.3). Element names are matched without their namespace.
type successResponse struct {
	XMLName xml.Name `xml:"AssumeRoleWithWebIdentityResponse"`
	Result  struct {
		Credentials struct {
			AccessKeyID     string `xml:"AccessKeyId"`
			SecretAccessKey string `xml:"SecretAccessKey"`
			SessionToken    string `xml:"SessionToken"`
			Expiration      string `xml:"Expiration"`
		} `xml:"Credentials"`
		SubjectFromWebIdentityToken string `xml:"SubjectFromWebIdentityToken"`
		AssumedRoleUser             struct {
			Arn           string `xml:"Arn"`
			AssumedRoleID string `xml:"AssumedRoleId"`
		} `xml:"AssumedRoleUser"`
		Provider       string `xml:"Provider"`
		Audience       string `xml:"Audience"`
		SourceIdentity string `xml:"SourceIdentity"`
	} `xml:"AssumeRoleWithWebIdentityResult"`
}

// errorResponse is the awsquery error envelope (specs §1.3).
type errorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

// parseSuccess decodes a 200 answer. Missing keys or an unreadable
// expiration are errors: credentials without them are unusable.
func parseSuccess(body []byte) (*Credentials, error) {
	var r successResponse
	if err := xml.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("could not parse the STS answer: %w", err)
	}
	c := r.Result.Credentials
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"AccessKeyId", c.AccessKeyID},
		{"SecretAccessKey", c.SecretAccessKey},
		{"SessionToken", c.SessionToken},
		{"Expiration", c.Expiration},
	} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the STS answer has no %s", strings.Join(missing, ", "))
	}
	exp, err := time.Parse(time.RFC3339, strings.TrimSpace(c.Expiration))
	if err != nil {
		return nil, fmt.Errorf("could not parse the STS expiration %q: %w", c.Expiration, err)
	}
	res := r.Result
	return &Credentials{
		AccessKeyID:      strings.TrimSpace(c.AccessKeyID),
		SecretAccessKey:  strings.TrimSpace(c.SecretAccessKey),
		SessionToken:     strings.TrimSpace(c.SessionToken),
		Expiration:       exp.UTC(),
		AssumedRoleARN:   res.AssumedRoleUser.Arn,
		AccountID:        accountOf(res.AssumedRoleUser.Arn),
		SubjectFromToken: res.SubjectFromWebIdentityToken,
		Audience:         res.Audience,
		Provider:         res.Provider,
		SourceIdentity:   res.SourceIdentity,
	}, nil
}

// parseError decodes a non-200 answer into *Error. A body that is not the
// awsquery envelope (a proxy's HTML page, say) still yields an *Error with
// the status code and an empty Code. The token that was sent and anything
// JWT-like are redacted before the message is cut (issue 15.8); every field
// is one line without terminal controls (issue 15.4).
func parseError(status int, body []byte, token string) *Error {
	e := &Error{StatusCode: status}
	var r errorResponse
	if err := xml.Unmarshal(body, &r); err != nil {
		return e
	}
	e.Code = oneLine(redact.Text(r.Error.Code, token))
	e.Message = oneLine(redact.Text(r.Error.Message, token))
	e.RequestID = oneLine(redact.Text(r.RequestID, token))
	return e
}

// accountOf returns the account field of an ARN, "" if s is not an ARN.
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}
