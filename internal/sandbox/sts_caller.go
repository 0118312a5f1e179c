package sandbox

import (
	"crypto/subtle"
	"encoding/xml"
	"net/http"
	"strings"
	"time"
)

// issuedCredentials is what the emulator remembers of credentials it issued,
// so that GetCallerIdentity can answer for them.
type issuedCredentials struct {
	sessionToken, arn, userID, account string
	expiration                         time.Time
}

// remember records credentials and forgets expired ones.
func (e *stsEmulator) remember(accessKeyID string, c issuedCredentials) {
	now := e.opts.Clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, old := range e.issued {
		if !old.expiration.After(now) {
			delete(e.issued, k)
		}
	}
	e.issued[accessKeyID] = c
}

// The success shape of GetCallerIdentity.
type callerIdentityResponse struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	} `xml:"GetCallerIdentityResult"`
	Metadata struct {
		RequestID string `xml:"RequestId"`
	} `xml:"ResponseMetadata"`
}

// callerIdentity answers GetCallerIdentity for credentials this emulator
// issued, so an SDK in a child process can make one real call with them.
// It finds the caller by the access key ID of the SigV4 Authorization header
// and the X-Amz-Security-Token header, and checks expiry; SANDBOX ONLY: it
// does not check the signature.
func (e *stsEmulator) callerIdentity(w http.ResponseWriter, r *http.Request, requestID string) {
	fail := func(serr *stsError) {
		e.rec.update(func(s *Stats) { s.STSOutcomes[serr.Code]++ })
		writeSTSError(w, requestID, serr)
	}
	invalid := &stsError{Code: "InvalidClientTokenId", Status: http.StatusForbidden, Message: "The security token included in the request is invalid."}
	auth := r.Header.Get("Authorization")
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !ok {
		fail(&stsError{Code: "MissingAuthenticationToken", Status: http.StatusForbidden, Message: "Request is missing Authentication Token"})
		return
	}
	keyID, _, _ := strings.Cut(cred, "/")
	e.mu.Lock()
	c, known := e.issued[keyID]
	e.mu.Unlock()
	if !known || subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Amz-Security-Token")), []byte(c.sessionToken)) != 1 {
		fail(invalid)
		return
	}
	if !c.expiration.After(e.opts.Clock.Now()) {
		fail(&stsError{Code: "ExpiredToken", Status: http.StatusBadRequest, Message: "The security token included in the request is expired"})
		return
	}
	resp := callerIdentityResponse{Xmlns: stsNamespace}
	resp.Result.Arn, resp.Result.UserID, resp.Result.Account = c.arn, c.userID, c.account
	resp.Metadata.RequestID = requestID
	e.rec.update(func(s *Stats) { s.STSOutcomes["Success"]++ })
	writeXML(w, http.StatusOK, requestID, resp)
}
