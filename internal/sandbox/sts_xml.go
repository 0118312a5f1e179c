package sandbox

import (
	"encoding/xml"
	"net/http"
)

// stsNamespace is the XML namespace of STS 2011-06-15 answers.
const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// The success shape of AssumeRoleWithWebIdentity (specs.md §1.3).
type assumeResponse struct {
	XMLName  xml.Name     `xml:"AssumeRoleWithWebIdentityResponse"`
	Xmlns    string       `xml:"xmlns,attr"`
	Result   assumeResult `xml:"AssumeRoleWithWebIdentityResult"`
	Metadata struct {
		RequestID string `xml:"RequestId"`
	} `xml:"ResponseMetadata"`
}

type assumeResult struct {
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
	PackedPolicySize *int   `xml:"PackedPolicySize,omitempty"`
	Provider         string `xml:"Provider"`
	Audience         string `xml:"Audience"`
	SourceIdentity   string `xml:"SourceIdentity,omitempty"`
}

// The awsquery error envelope (specs.md §1.3).
type errorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

// stsError is an STS error answer: its wire code, HTTP status and message.
type stsError struct {
	Code    string
	Status  int
	Message string
}

func (e *stsError) Error() string { return e.Code + ": " + e.Message }

// The STS error codes the emulator answers.
const (
	codeValidation      = "ValidationError"
	codeInvalidAction   = "InvalidAction"
	codeInvalidToken    = "InvalidIdentityToken"
	codeExpiredToken    = "ExpiredTokenException"
	codeAccessDenied    = "AccessDenied"
	codeMalformedPolicy = "MalformedPolicyDocument"
	codeThrottling      = "Throttling"
)

func validationError(msg string) *stsError {
	return &stsError{Code: codeValidation, Status: http.StatusBadRequest, Message: msg}
}

func writeXML(w http.ResponseWriter, status int, requestID string, v any) {
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "could not encode the answer", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeSTSError(w http.ResponseWriter, requestID string, e *stsError) {
	resp := errorResponse{Xmlns: stsNamespace, RequestID: requestID}
	resp.Error.Type = "Sender"
	resp.Error.Code = e.Code
	resp.Error.Message = e.Message
	writeXML(w, e.Status, requestID, resp)
}
