package awssts

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"
)

// Request limits of AssumeRoleWithWebIdentity (specs §1.2, from the STS
// service model shapes).
const (
	minRoleARNLen  = 20
	maxRoleARNLen  = 2048
	minTokenLen    = 4
	maxTokenLen    = 20000
	maxPolicyLen   = 2048
	maxPolicyARNs  = 10
	minPolicyARNLn = 20
	maxPolicyARNLn = 2048
)

// Request is what to assume. The ID token is not part of it: it is asked
// for through the token callback of Client.AssumeRoleWithWebIdentity.
type Request struct {
	// RoleARN is the role to assume (RoleArn, 20–2048 characters).
	RoleARN string
	// SessionName labels the session in CloudTrail (RoleSessionName,
	// 2–64 characters of [\w+=,.@-]); build it with SessionName.
	SessionName string
	// Duration is the session lifetime (DurationSeconds, 900 s to 43200 s,
	// whole seconds). Zero sends nothing and STS uses its default of one
	// hour.
	Duration time.Duration
	// Policy is an optional inline session policy (JSON, at most 2048
	// characters).
	Policy string
	// PolicyARNs are optional managed session policies (at most 10).
	PolicyARNs []string
}

// validate checks the request against the STS limits so that a bad
// configuration fails before any network call, with a message naming the
// field.
func (r Request) validate() error {
	if n := len(r.RoleARN); n < minRoleARNLen || n > maxRoleARNLen {
		return fmt.Errorf("role ARN %q must be %d to %d characters long", r.RoleARN, minRoleARNLen, maxRoleARNLen)
	}
	if err := validSessionName(r.SessionName); err != nil {
		return err
	}
	if r.Duration != 0 {
		if err := validDuration(r.Duration); err != nil {
			return err
		}
	}
	if n := utf8.RuneCountInString(r.Policy); n > maxPolicyLen {
		return fmt.Errorf("session policy is %d characters long, the limit is %d", n, maxPolicyLen)
	}
	for i, c := range r.Policy {
		if c != '\t' && c != '\n' && c != '\r' && (c < 0x20 || c > 0xFF) {
			return fmt.Errorf("session policy has a character STS does not accept (%U at byte %d)", c, i)
		}
	}
	if len(r.PolicyARNs) > maxPolicyARNs {
		return fmt.Errorf("%d session policy ARNs given, the limit is %d", len(r.PolicyARNs), maxPolicyARNs)
	}
	for _, arn := range r.PolicyARNs {
		if n := len(arn); n < minPolicyARNLn || n > maxPolicyARNLn {
			return fmt.Errorf("session policy ARN %q must be %d to %d characters long", arn, minPolicyARNLn, maxPolicyARNLn)
		}
	}
	return nil
}

// validToken checks the WebIdentityToken length without ever printing the
// token.
func validToken(token string) error {
	if token == "" {
		return errors.New("the ID token is empty")
	}
	if n := len(token); n < minTokenLen || n > maxTokenLen {
		return fmt.Errorf("the ID token is %d characters long, STS accepts %d to %d", n, minTokenLen, maxTokenLen)
	}
	return nil
}

// form encodes the request as the awsquery form body (specs §1.2). Lists use
// the member.N convention. ProviderId is never sent.
func (r Request) form(token string) url.Values {
	v := url.Values{}
	v.Set("Action", "AssumeRoleWithWebIdentity")
	v.Set("Version", "2011-06-15")
	v.Set("RoleArn", r.RoleARN)
	v.Set("RoleSessionName", r.SessionName)
	v.Set("WebIdentityToken", token)
	if r.Duration != 0 {
		v.Set("DurationSeconds", strconv.FormatInt(int64(r.Duration/time.Second), 10))
	}
	if r.Policy != "" {
		v.Set("Policy", r.Policy)
	}
	for i, arn := range r.PolicyARNs {
		v.Set("PolicyArns.member."+strconv.Itoa(i+1)+".arn", arn)
	}
	return v
}
