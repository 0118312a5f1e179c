package awssts

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// STS error codes the client treats specially (specs §1.3).
const (
	CodeAccessDenied          = "AccessDenied"
	CodeExpiredToken          = "ExpiredTokenException"
	CodeInvalidIdentityToken  = "InvalidIdentityToken"
	CodeIDPRejectedClaim      = "IDPRejectedClaim"
	CodeIDPCommunicationError = "IDPCommunicationError"
	CodeRegionDisabled        = "RegionDisabledException"
	CodeMalformedPolicy       = "MalformedPolicyDocument"
	CodePackedPolicyTooLarge  = "PackedPolicyTooLarge"
	CodeValidationError       = "ValidationError"
	CodeThrottling            = "Throttling"
	CodeThrottlingException   = "ThrottlingException"
	CodeRequestLimitExceeded  = "RequestLimitExceeded"
)

// maxMessageLen bounds the STS message kept in an Error.
const maxMessageLen = 512

// Error is an error answer from STS: the awsquery ErrorResponse envelope, or
// an HTTP status without one (Code is then empty). It never holds the token.
type Error struct {
	// Code is the STS error code, e.g. "AccessDenied".
	Code string
	// Message is STS's message, on one line and at most 512 bytes.
	Message string
	// RequestID is STS's request id, for AWS support and CloudTrail.
	RequestID string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
}

// Error returns one line: code, message, HTTP status and request id.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("sts AssumeRoleWithWebIdentity failed: ")
	if e.Code != "" {
		b.WriteString(e.Code)
	} else {
		b.WriteString("unexpected answer")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	fmt.Fprintf(&b, " (HTTP %d", e.StatusCode)
	if e.RequestID != "" {
		b.WriteString(", request id ")
		b.WriteString(e.RequestID)
	}
	b.WriteString(")")
	return b.String()
}

// RequestError is a request STS would refuse (a role ARN, session name,
// duration or session policy outside its limits), refused before any call.
type RequestError struct{ Err error }

// Error returns the limit the request breaks.
func (e *RequestError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Err }

// EndpointError says that no STS endpoint could be resolved: no region, or
// a region or an endpoint URL that is not valid.
type EndpointError struct{ Err error }

// Error returns why.
func (e *EndpointError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *EndpointError) Unwrap() error { return e.Err }

// retryable reports whether the call may succeed if repeated unchanged.
func (e *Error) retryable() bool {
	switch e.Code {
	case CodeIDPCommunicationError, CodeThrottling, CodeThrottlingException, CodeRequestLimitExceeded:
		return true
	}
	return e.StatusCode >= 500 || e.StatusCode == 429
}

// denied reports whether the error is a verdict on the token or the trust
// policy (exit code 4) rather than a failure.
func (e *Error) denied() bool {
	switch e.Code {
	case CodeAccessDenied, CodeInvalidIdentityToken, CodeExpiredToken, CodeIDPRejectedClaim:
		return true
	}
	return false
}

// oneLine flattens and bounds a message from STS.
func oneLine(s string) string {
	s = termsafe.Clean(strings.Join(strings.Fields(s), " "))
	if len(s) > maxMessageLen {
		n := maxMessageLen
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return s
}
