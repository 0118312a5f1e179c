// Package awssts exchanges an OpenID Connect ID token for temporary AWS
// credentials with the STS AssumeRoleWithWebIdentity call.
//
// Why not aws-sdk-go-v2: this is the only STS operation dagster-oidc makes,
// it is an unsigned Query API call (the SDK maps it to the anonymous auth
// scheme, specs §1.2), and linking the SDK's STS client costs about 0.9 ms of
// package initialisation on a 1.2 ms process that AWS SDKs start once per
// client as credential_process. So the call is made here on net/http and
// encoding/xml: one form POST, one XML document back (specs §1.3).
//
// The client validates the request before sending it (specs §1.2 limits),
// never sends ProviderId (it is only for OAuth 2.0 access tokens from Amazon
// and Facebook), retries with bounded exponential back-off and jitter on
// IDPCommunicationError, throttling, 5xx answers and transport errors, asks
// for a fresh ID token once after InvalidIdentityToken, caps how much of the
// response it reads, and reports STS errors as *Error.
package awssts
