package sandbox

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// stsPath is where the STS emulator answers.
const stsPath = "/sts"

const stsVersion = "2011-06-15"

var sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]*$`)

// stsEmulator answers AssumeRoleWithWebIdentity (awsquery protocol) for
// tokens of this sandbox, with credentials that are valid nowhere else.
type stsEmulator struct {
	issuer string
	opts   Options
	store  *store
	rec    *recorder
	roles  map[string]Role
	// audiences are all the audiences the "IAM OIDC provider" knows.
	audiences    map[string]bool
	throttleLeft int // guarded by rec.mu

	mu     sync.Mutex
	issued map[string]issuedCredentials // by access key ID
}

func newSTS(issuer string, o Options, st *store, rec *recorder) *stsEmulator {
	e := &stsEmulator{issuer: issuer, opts: o, store: st, rec: rec, roles: map[string]Role{},
		audiences: map[string]bool{o.ClientID: true}, throttleLeft: o.STSThrottle, issued: map[string]issuedCredentials{}}
	for _, r := range o.Roles {
		e.roles[r.ARN] = r
		e.audiences[r.Audience] = true
	}
	return e
}

func (e *stsEmulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	throttled := false
	e.rec.update(func(s *Stats) {
		s.STSCalls++
		if e.throttleLeft > 0 {
			e.throttleLeft--
			throttled = true
		}
	})
	var sess STSSession
	var resp *assumeResponse
	var serr *stsError
	switch {
	case throttled:
		serr = &stsError{Code: codeThrottling, Status: http.StatusBadRequest, Message: "Rate exceeded"}
	default:
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			serr = validationError("could not parse the form body")
			break
		}
		if r.Form.Get("Action") == "GetCallerIdentity" {
			e.callerIdentity(w, r, requestID)
			return
		}
		resp, sess, serr = e.assume(r.Context(), r.Form)
	}
	if serr != nil {
		e.rec.update(func(s *Stats) { s.STSOutcomes[serr.Code]++ })
		writeSTSError(w, requestID, serr)
		return
	}
	e.rec.update(func(s *Stats) { s.STSOutcomes["Success"]++ })
	e.rec.addSession(sess)
	resp.Metadata.RequestID = requestID
	writeXML(w, http.StatusOK, requestID, resp)
}

// stsRequest is a validated AssumeRoleWithWebIdentity request.
type stsRequest struct {
	roleARN, sessionName, token, policy string
	policyARNs                          []string
	duration                            time.Duration // 0 when not sent
}

// assume checks the request in AWS's order (parameters, token, trust,
// duration) and issues credentials.
func (e *stsEmulator) assume(ctx context.Context, form url.Values) (*assumeResponse, STSSession, *stsError) {
	req, serr := e.parse(form)
	if serr != nil {
		return nil, STSSession{}, serr
	}
	tok, serr := e.verify(ctx, req.token)
	if serr != nil {
		return nil, STSSession{}, serr
	}
	role, ok := e.roles[req.roleARN]
	if !ok {
		return nil, STSSession{}, accessDenied()
	}
	if !slices.Contains(tok.Audience, role.Audience) {
		if !slices.ContainsFunc(tok.Audience, func(a string) bool { return e.audiences[a] }) {
			return nil, STSSession{}, &stsError{Code: codeInvalidToken, Status: http.StatusBadRequest, Message: "Incorrect token audience"}
		}
		return nil, STSSession{}, accessDenied()
	}
	if !role.trustsSubject(tok.Subject) {
		return nil, STSSession{}, accessDenied()
	}
	d := req.duration
	if d == 0 {
		d = min(time.Hour, role.MaxDuration)
	}
	if d > role.MaxDuration {
		return nil, STSSession{}, validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	return e.issue(req, role, tok, d)
}

// parse applies the parameter constraints of specs.md §1.2.
func (e *stsEmulator) parse(form url.Values) (stsRequest, *stsError) {
	if a := form.Get("Action"); a != "AssumeRoleWithWebIdentity" || form.Get("Version") != stsVersion {
		return stsRequest{}, &stsError{Code: codeInvalidAction, Status: http.StatusBadRequest,
			Message: fmt.Sprintf("Could not find operation %s for version %s", a, form.Get("Version"))}
	}
	if form.Has("ProviderId") {
		return stsRequest{}, validationError("ProviderId is only for OAuth 2.0 access tokens from www.amazon.com or graph.facebook.com; do not send it with an OpenID Connect ID token")
	}
	req := stsRequest{roleARN: form.Get("RoleArn"), sessionName: form.Get("RoleSessionName"),
		token: form.Get("WebIdentityToken"), policy: form.Get("Policy")}
	checks := []struct {
		field, value string
		required     bool
		min, max     int
	}{
		{"roleArn", req.roleARN, true, 20, 2048},
		{"roleSessionName", req.sessionName, true, 2, 64},
		{"webIdentityToken", req.token, true, 4, 20000},
		{"policy", req.policy, false, 1, 2048},
	}
	for _, c := range checks {
		if serr := checkLength(c.field, c.value, form.Has(strings.ToUpper(c.field[:1])+c.field[1:]), c.required, c.min, c.max); serr != nil {
			return stsRequest{}, serr
		}
	}
	if !sessionNameRE.MatchString(req.sessionName) {
		return stsRequest{}, validationError(fmt.Sprintf(`1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`, req.sessionName))
	}
	if v := form.Get("DurationSeconds"); v != "" {
		secs, err := strconv.Atoi(v)
		if err != nil {
			return stsRequest{}, validationError(fmt.Sprintf("Value '%s' for parameter DurationSeconds is invalid", v))
		}
		req.duration = time.Duration(secs) * time.Second
		if minSecs := int(e.opts.MinDuration / time.Second); secs < minSecs {
			return stsRequest{}, validationError(fmt.Sprintf("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to %d", secs, minSecs))
		}
		if req.duration > MaxDuration {
			return stsRequest{}, validationError(fmt.Sprintf("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200", secs))
		}
	}
	for i := 1; form.Has(fmt.Sprintf("PolicyArns.member.%d.arn", i)); i++ {
		arn := form.Get(fmt.Sprintf("PolicyArns.member.%d.arn", i))
		if serr := checkLength(fmt.Sprintf("policyArns.%d.member.arn", i), arn, true, true, 20, 2048); serr != nil {
			return stsRequest{}, serr
		}
		req.policyARNs = append(req.policyARNs, arn)
	}
	if len(req.policyARNs) > 10 {
		return stsRequest{}, validationError("1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10")
	}
	if req.policy != "" && !json.Valid([]byte(req.policy)) {
		return stsRequest{}, &stsError{Code: codeMalformedPolicy, Status: http.StatusBadRequest, Message: "The policy is not in the valid JSON format."}
	}
	return req, nil
}

// checkLength reports AWS's validation error for a missing or mis-sized value.
func checkLength(field, value string, present, required bool, minLen, maxLen int) *stsError {
	switch {
	case value == "" && !present && !required:
		return nil
	case value == "" && !present:
		return validationError(fmt.Sprintf("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field))
	case len(value) < minLen:
		return validationError(fmt.Sprintf("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length greater than or equal to %d", field, minLen))
	case len(value) > maxLen:
		return validationError(fmt.Sprintf("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", field, maxLen))
	}
	return nil
}

// verifyToken checks raw's signature against the sandbox JWKS, its iss and
// its exp (with the injected clock); the audience is the caller's to check.
func verifyToken(ctx context.Context, st *store, issuer string, o Options, raw string) (*oidc.IDToken, error) {
	keys, err := st.KeySet(ctx)
	if err != nil {
		return nil, errKeys
	}
	ks := &oidc.StaticKeySet{}
	for _, k := range keys {
		ks.PublicKeys = append(ks.PublicKeys, k.Key().(crypto.PublicKey))
	}
	return oidc.NewVerifier(issuer, ks, &oidc.Config{SkipClientIDCheck: true, Now: o.Clock.Now}).Verify(ctx, raw)
}

var errKeys = errors.New("could not read the identity provider's keys")

// verify checks the token as STS does and maps failures to its errors.
func (e *stsEmulator) verify(ctx context.Context, raw string) (*oidc.IDToken, *stsError) {
	tok, err := verifyToken(ctx, e.store, e.issuer, e.opts, raw)
	var expired *oidc.TokenExpiredError
	switch {
	case errors.Is(err, errKeys):
		return nil, &stsError{Code: "IDPCommunicationError", Status: http.StatusBadRequest, Message: err.Error()}
	case errors.As(err, &expired):
		return nil, &stsError{Code: codeExpiredToken, Status: http.StatusBadRequest, Message: fmt.Sprintf(
			"Token expired: current date/time %d must be before the expiration date/time %d", e.opts.Clock.Now().Unix(), expired.Expiry.Unix())}
	case err != nil:
		return nil, &stsError{Code: codeInvalidToken, Status: http.StatusBadRequest, Message: "The web identity token could not be validated: " + strings.TrimPrefix(err.Error(), "oidc: ")}
	}
	return tok, nil
}

func accessDenied() *stsError {
	return &stsError{Code: codeAccessDenied, Status: http.StatusForbidden, Message: "Not authorized to perform sts:AssumeRoleWithWebIdentity"}
}

// issue mints random credentials for the session.
func (e *stsEmulator) issue(req stsRequest, role Role, tok *oidc.IDToken, d time.Duration) (*assumeResponse, STSSession, *stsError) {
	exp := e.opts.Clock.Now().Add(d).UTC().Truncate(time.Second)
	resp := &assumeResponse{Xmlns: stsNamespace}
	c := &resp.Result.Credentials
	c.AccessKeyID = "ASIA" + randomBase32(16)
	c.SecretAccessKey = randomBase64(30)
	c.SessionToken = randomBase64(300)
	e.rec.secret("sts_secret_access_key", c.SecretAccessKey)
	e.rec.secret("sts_session_token", c.SessionToken)
	c.Expiration = exp.Format("2006-01-02T15:04:05Z")
	res := &resp.Result
	res.SubjectFromWebIdentityToken = tok.Subject
	account, roleName := splitRoleARN(role.ARN)
	res.AssumedRoleUser.Arn = fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, roleName, req.sessionName)
	res.AssumedRoleUser.AssumedRoleID = roleID(role.ARN) + ":" + req.sessionName
	if req.policy != "" || len(req.policyARNs) > 0 {
		size := (len(req.policy) + 64*len(req.policyARNs)) * 100 / 2048
		res.PackedPolicySize = &size
	}
	res.Provider = tok.Issuer
	res.Audience = role.Audience
	var claims struct {
		SourceIdentity string `json:"https://aws.amazon.com/source_identity"`
	}
	if tok.Claims(&claims) == nil {
		res.SourceIdentity = claims.SourceIdentity
	}
	sess := STSSession{RoleARN: role.ARN, RoleSessionName: req.sessionName, Subject: tok.Subject,
		DurationSeconds: int(d / time.Second), AccessKeyID: c.AccessKeyID, Expiration: exp,
		Policy: req.policy, PolicyARNs: req.policyARNs}
	e.remember(c.AccessKeyID, issuedCredentials{sessionToken: c.SessionToken, arn: res.AssumedRoleUser.Arn,
		userID: res.AssumedRoleUser.AssumedRoleID, account: account, expiration: exp})
	return resp, sess, nil
}

// splitRoleARN returns the account and the role name (its last path
// segment) of arn:aws:iam::ACCOUNT:role/PATH/NAME.
func splitRoleARN(arn string) (account, name string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return "000000000000", arn
	}
	return parts[4], parts[5][strings.LastIndex(parts[5], "/")+1:]
}

// roleID is a stable AROA... unique ID for a role.
func roleID(arn string) string {
	sum := sha256.Sum256([]byte(arn))
	return "AROA" + base32.StdEncoding.EncodeToString(sum[:])[:17]
}

func randomBase32(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base32.StdEncoding.EncodeToString(b)[:n]
}

func randomBase64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// newRequestID returns a UUID-shaped request id.
func newRequestID() string {
	h := newID()
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
