package sandbox

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

var stsNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const customAudRole = "arn:aws:iam::000000000000:role/custom-aud"

func stsOptions() Options {
	return Options{
		Clock: clock.Fake(stsNow),
		Roles: append(DemoRoles(),
			Role{ARN: customAudRole, Audience: "sts.amazonaws.com"},
		),
	}
}

// callSTS posts an AssumeRoleWithWebIdentity form and returns the status
// and body.
func callSTS(t *testing.T, s *Server, form url.Values) (int, string) {
	t.Helper()
	resp, err := postForm(t.Context(), http.DefaultClient, s.STSEndpoint(), form)
	if err != nil {
		t.Fatalf("STS call: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read STS answer: %v", err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/xml" {
		t.Errorf("Content-Type = %q, want text/xml", ct)
	}
	return resp.StatusCode, string(b)
}

func assumeForm(role, session, token string) url.Values {
	return url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"},
		"RoleArn": {role}, "RoleSessionName": {session}, "WebIdentityToken": {token}}
}

func mint(t *testing.T, s *Server, claims map[string]any, lifetime time.Duration) string {
	t.Helper()
	tok, err := s.MintIDToken(claims, lifetime)
	if err != nil {
		t.Fatalf("MintIDToken: %v", err)
	}
	return tok
}

func TestSTSSuccess(t *testing.T) {
	s := startServer(t, stsOptions())
	form := assumeForm(DemoDataEngRoleARN, "dagster-run-42", mint(t, s, map[string]any{"sub": "alice"}, 0))
	form.Set("DurationSeconds", "7200")
	form.Set("Policy", `{"Version":"2012-10-17","Statement":[]}`)
	form.Set("PolicyArns.member.1.arn", "arn:aws:iam::aws:policy/ReadOnlyAccess")
	status, body := callSTS(t, s, form)
	if status != http.StatusOK {
		t.Fatalf("status = %d, body:\n%s", status, body)
	}
	var resp assumeResponse
	if err := xml.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if resp.XMLName.Space != stsNamespace {
		t.Errorf("namespace = %q", resp.XMLName.Space)
	}
	c := resp.Result.Credentials
	if len(c.AccessKeyID) != 20 || !strings.HasPrefix(c.AccessKeyID, "ASIA") || len(c.SecretAccessKey) != 40 || c.SessionToken == "" {
		t.Errorf("credentials = %+v", c)
	}
	r := resp.Result
	got := []string{c.Expiration, r.SubjectFromWebIdentityToken, r.AssumedRoleUser.Arn, r.Provider, r.Audience}
	want := []string{"2026-01-02T05:04:05Z", "alice", "arn:aws:sts::000000000000:assumed-role/data-eng/dagster-run-42", s.Issuer(), s.ClientID()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(r.AssumedRoleUser.AssumedRoleID, "AROA") || !strings.HasSuffix(r.AssumedRoleUser.AssumedRoleID, ":dagster-run-42") {
		t.Errorf("AssumedRoleId = %q", r.AssumedRoleUser.AssumedRoleID)
	}
	if r.PackedPolicySize == nil || resp.Metadata.RequestID == "" {
		t.Errorf("PackedPolicySize = %v, RequestId = %q", r.PackedPolicySize, resp.Metadata.RequestID)
	}
	st := s.Stats()
	wantSess := []STSSession{{RoleARN: DemoDataEngRoleARN, RoleSessionName: "dagster-run-42", Subject: "alice", DurationSeconds: 7200,
		AccessKeyID: c.AccessKeyID, Expiration: stsNow.Add(2 * time.Hour), Policy: form.Get("Policy"), PolicyARNs: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}}}
	if diff := cmp.Diff(wantSess, st.STSSessions); diff != "" {
		t.Errorf("sessions (-want +got):\n%s", diff)
	}
	if st.STSCalls != 1 || st.STSOutcomes["Success"] != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestSTSErrors(t *testing.T) {
	s := startServer(t, stsOptions())
	other := startServer(t, stsOptions())
	alice := mint(t, s, map[string]any{"sub": "alice"}, 0)
	tests := []struct {
		name       string
		form       func() url.Values
		wantCode   string
		wantStatus int
	}{
		{"wrong action", func() url.Values {
			f := assumeForm(DemoDataEngRoleARN, "s1", alice)
			f.Set("Action", "AssumeRole")
			return f
		}, codeInvalidAction, 400},
		{"wrong version", func() url.Values {
			f := assumeForm(DemoDataEngRoleARN, "s1", alice)
			f.Set("Version", "2010-01-01")
			return f
		}, codeInvalidAction, 400},
		{"missing role", func() url.Values { f := assumeForm("", "s1", alice); f.Del("RoleArn"); return f }, codeValidation, 400},
		{"session name too short", func() url.Values { return assumeForm(DemoDataEngRoleARN, "s", alice) }, codeValidation, 400},
		{"session name too long", func() url.Values { return assumeForm(DemoDataEngRoleARN, strings.Repeat("a", 65), alice) }, codeValidation, 400},
		{"session name with a space", func() url.Values { return assumeForm(DemoDataEngRoleARN, "has space", alice) }, codeValidation, 400},
		{"session name with a slash", func() url.Values { return assumeForm(DemoDataEngRoleARN, "a/b", alice) }, codeValidation, 400},
		{"duration below 900", func() url.Values { return withDuration(assumeForm(DemoDataEngRoleARN, "s1", alice), "899") }, codeValidation, 400},
		{"duration above 43200", func() url.Values { return withDuration(assumeForm(DemoDataEngRoleARN, "s1", alice), "43201") }, codeValidation, 400},
		{"duration not a number", func() url.Values { return withDuration(assumeForm(DemoDataEngRoleARN, "s1", alice), "1h") }, codeValidation, 400},
		{"duration above the role's max", func() url.Values {
			return withDuration(assumeForm(customAudRole, "s1", mint(t, s, map[string]any{"aud": "sts.amazonaws.com"}, 0)), "7200")
		}, codeValidation, 400},
		{"ProviderId sent", func() url.Values {
			f := assumeForm(DemoDataEngRoleARN, "s1", alice)
			f.Set("ProviderId", "www.amazon.com")
			return f
		}, codeValidation, 400},
		{"policy not JSON", func() url.Values { f := assumeForm(DemoDataEngRoleARN, "s1", alice); f.Set("Policy", "{"); return f }, codeMalformedPolicy, 400},
		{"policy too long", func() url.Values {
			f := assumeForm(DemoDataEngRoleARN, "s1", alice)
			f.Set("Policy", `"`+strings.Repeat("x", 2048)+`"`)
			return f
		}, codeValidation, 400},
		{"eleven policy ARNs", func() url.Values {
			f := assumeForm(DemoDataEngRoleARN, "s1", alice)
			for i := 1; i <= 11; i++ {
				f.Set(fmt.Sprintf("PolicyArns.member.%d.arn", i), "arn:aws:iam::aws:policy/ReadOnlyAccess")
			}
			return f
		}, codeValidation, 400},
		{"token too short", func() url.Values { return assumeForm(DemoDataEngRoleARN, "s1", "abc") }, codeValidation, 400},
		{"garbage token", func() url.Values { return assumeForm(DemoDataEngRoleARN, "s1", "aaaa.bbbb.cccc") }, codeInvalidToken, 400},
		{"token from another sandbox", func() url.Values {
			return assumeForm(DemoDataEngRoleARN, "s1", mint(t, other, map[string]any{"iss": s.Issuer()}, 0))
		}, codeInvalidToken, 400},
		{"wrong issuer", func() url.Values {
			return assumeForm(DemoDataEngRoleARN, "s1", mint(t, s, map[string]any{"iss": "http://127.0.0.1:1"}, 0))
		}, codeInvalidToken, 400},
		{"expired token", func() url.Values { return assumeForm(DemoDataEngRoleARN, "s1", mint(t, s, nil, -time.Minute)) }, codeExpiredToken, 400},
		{"unknown audience", func() url.Values {
			return assumeForm(DemoDataEngRoleARN, "s1", mint(t, s, map[string]any{"aud": "someone-else"}, 0))
		}, codeInvalidToken, 400},
		{"known audience of another role", func() url.Values {
			return assumeForm(DemoDataEngRoleARN, "s1", mint(t, s, map[string]any{"aud": "sts.amazonaws.com"}, 0))
		}, codeAccessDenied, 403},
		{"unknown role", func() url.Values { return assumeForm("arn:aws:iam::000000000000:role/nope", "s1", alice) }, codeAccessDenied, 403},
		{"subject not trusted", func() url.Values { return assumeForm(DemoPipelineRoleARN, "s1", alice) }, codeAccessDenied, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := callSTS(t, s, tt.form())
			var e errorResponse
			if err := xml.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("decode %q: %v", body, err)
			}
			if status != tt.wantStatus || e.Error.Code != tt.wantCode || e.Error.Type != "Sender" || e.Error.Message == "" || e.RequestID == "" {
				t.Errorf("answer = %d %+v, want %d %s", status, e, tt.wantStatus, tt.wantCode)
			}
			if strings.Contains(body, alice) {
				t.Error("the error echoes the token")
			}
		})
	}
	if got := s.Stats().STSOutcomes["Success"]; got != 0 {
		t.Errorf("successes = %d, want 0", got)
	}
}

func TestSTSAcceptsWorkloadAndDefaults(t *testing.T) {
	s := startServer(t, stsOptions())
	status, body := callSTS(t, s, assumeForm(DemoPipelineRoleARN, "run-1", mint(t, s, nil, 0)))
	if status != http.StatusOK {
		t.Fatalf("status = %d:\n%s", status, body)
	}
	if sess := s.Stats().STSSessions; len(sess) != 1 || sess[0].DurationSeconds != 3600 || sess[0].Subject != DefaultMintSubject {
		t.Errorf("sessions = %+v, want one of 3600s for %s", sess, DefaultMintSubject)
	}
}

func TestSTSMinDuration(t *testing.T) {
	o := stsOptions()
	o.MinDuration = time.Minute
	s := startServer(t, o)
	for _, tc := range []struct {
		dur  string
		want int
	}{{"60", http.StatusOK}, {"59", http.StatusBadRequest}} {
		status, body := callSTS(t, s, withDuration(assumeForm(DemoDataEngRoleARN, "short", mint(t, s, nil, 0)), tc.dur))
		if status != tc.want {
			t.Errorf("DurationSeconds=%s: status %d, want %d:\n%s", tc.dur, status, tc.want, body)
		}
	}
}

func TestSTSThrottle(t *testing.T) {
	o := stsOptions()
	o.STSThrottle = 2
	s := startServer(t, o)
	form := assumeForm(DemoDataEngRoleARN, "s1", mint(t, s, nil, 0))
	var codes []string
	for range 3 {
		status, body := callSTS(t, s, form)
		var e errorResponse
		if status == http.StatusOK {
			codes = append(codes, "Success")
			continue
		}
		if err := xml.Unmarshal([]byte(body), &e); err != nil {
			t.Fatalf("decode: %v", err)
		}
		codes = append(codes, fmt.Sprintf("%d %s", status, e.Error.Code))
	}
	if diff := cmp.Diff([]string{"400 Throttling", "400 Throttling", "Success"}, codes); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	st := s.Stats()
	if diff := cmp.Diff(map[string]int{"Throttling": 2, "Success": 1}, st.STSOutcomes); diff != "" || st.STSCalls != 3 {
		t.Errorf("STS stats: calls %d, outcomes (-want +got):\n%s", st.STSCalls, diff)
	}
}

func TestMintIDToken(t *testing.T) {
	s := startServer(t, Options{})
	p, err := oidc.NewProvider(t.Context(), s.Issuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	raw := mint(t, s, map[string]any{"sub": "system:serviceaccount:ns:sa", "groups": []string{"pipelines"}, "email": nil}, time.Minute)
	claims := verifyIDToken(t, p, s.ClientID(), raw)
	if claims["sub"] != "system:serviceaccount:ns:sa" || claims["iss"] != s.Issuer() || claims["aud"] != s.ClientID() {
		t.Errorf("claims = %v", claims)
	}
	if diff := cmp.Diff([]any{"pipelines"}, claims["groups"]); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	noAud := mint(t, s, map[string]any{"aud": nil}, time.Minute)
	if _, err := p.Verifier(&oidc.Config{ClientID: s.ClientID()}).Verify(t.Context(), noAud); err == nil {
		t.Error("a token without aud verified")
	}
	expired := mint(t, s, nil, -time.Minute)
	if _, err := p.Verifier(&oidc.Config{ClientID: s.ClientID()}).Verify(t.Context(), expired); err == nil {
		t.Error("an expired token verified")
	}
}

func withDuration(f url.Values, d string) url.Values {
	f.Set("DurationSeconds", d)
	return f
}
