package flow

// VerifyMode is a profile's `verify:`: how a workload token is checked.
// Human logins are always verified (VerifyRequired).
type VerifyMode string

// The verification modes.
const (
	// VerifyRequired: the signature, iss, aud and exp must verify; an
	// unreachable issuer fails the command.
	VerifyRequired VerifyMode = "required"
	// VerifyWhenReachable: verify when the issuer answers; when it cannot be
	// reached, accept the token after checking iss, aud and exp without the
	// signature, say so, and never store it.
	VerifyWhenReachable VerifyMode = "when-reachable"
	// VerifyOff: check iss (when the profile names an issuer), aud and exp only.
	VerifyOff VerifyMode = "off"
)

// VerifyModes are the values `verify:` accepts.
func VerifyModes() []string {
	return []string{string(VerifyRequired), string(VerifyWhenReachable), string(VerifyOff)}
}
