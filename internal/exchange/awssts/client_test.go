package awssts

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/google/go-cmp/cmp"
)

const (
	testRole  = "arn:aws:iam::123456789012:role/data-eng"
	testToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl-SECRET"
	freshTok  = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.ZnJlc2g-FRESH"
)

// errorStatus is the HTTP status STS sends with each error fixture (specs
// §1.3).
var errorStatus = map[string]int{
	CodeAccessDenied:          403,
	CodeInvalidIdentityToken:  400,
	CodeExpiredToken:          400,
	CodeIDPRejectedClaim:      403,
	CodeIDPCommunicationError: 400,
	CodeRegionDisabled:        403,
	CodeThrottling:            400,
	CodeValidationError:       400,
}

// answer is one scripted STS answer.
type answer struct {
	status int
	body   string
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ok(t *testing.T) answer { t.Helper(); return answer{200, fixture(t, "success.xml")} }

func stsErr(t *testing.T, code string) answer {
	t.Helper()
	return answer{errorStatus[code], fixture(t, "error_"+code+".xml")}
}

// fakeSTS serves scripted answers in order and records the requests.
type fakeSTS struct {
	t       *testing.T
	mu      sync.Mutex
	answers []answer
	forms   []url.Values
	srv     *httptest.Server
}

func newFakeSTS(t *testing.T, answers ...answer) *fakeSTS {
	t.Helper()
	f := &fakeSTS{t: t, answers: answers}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSTS) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method != http.MethodPost {
		f.t.Errorf("method = %s, want POST", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		f.t.Errorf("Content-Type = %q", ct)
	}
	if r.Header.Get("Authorization") != "" {
		f.t.Errorf("the call must be unsigned, got an Authorization header")
	}
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("ParseForm: %v", err)
	}
	f.forms = append(f.forms, r.PostForm)
	if len(f.answers) == 0 {
		f.t.Errorf("unexpected call %d", len(f.forms))
		w.WriteHeader(500)
		return
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(a.status)
	_, _ = w.Write([]byte(a.body))
}

func (f *fakeSTS) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.forms)
}

// recorder collects the sleeps and token requests of a client under test.
type recorder struct {
	sleeps []time.Duration
	fresh  []bool
}

func (rec *recorder) client(endpoint string) *Client {
	return &Client{
		HTTP:     &http.Client{Timeout: 5 * time.Second},
		Endpoint: endpoint,
		Sleep: func(_ context.Context, d time.Duration) error {
			rec.sleeps = append(rec.sleeps, d)
			return nil
		},
		Jitter: func(d time.Duration) time.Duration { return d },
	}
}

func (rec *recorder) token(_ context.Context, fresh bool) (string, error) {
	rec.fresh = append(rec.fresh, fresh)
	if fresh {
		return freshTok, nil
	}
	return testToken, nil
}

func validRequest() Request {
	return Request{RoleARN: testRole, SessionName: "alice@example.com"}
}

func TestFormFields(t *testing.T) {
	sts := newFakeSTS(t, ok(t))
	rec := &recorder{}
	req := Request{
		RoleARN:     testRole,
		SessionName: "run-1234",
		Duration:    2 * time.Hour,
		Policy:      `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`,
		PolicyARNs:  []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::123456789012:policy/etl"},
	}
	if _, err := rec.client(sts.srv.URL).AssumeRoleWithWebIdentity(context.Background(), req, rec.token); err != nil {
		t.Fatal(err)
	}
	want := url.Values{
		"Action":                  {"AssumeRoleWithWebIdentity"},
		"Version":                 {"2011-06-15"},
		"RoleArn":                 {testRole},
		"RoleSessionName":         {"run-1234"},
		"WebIdentityToken":        {testToken},
		"DurationSeconds":         {"7200"},
		"Policy":                  {req.Policy},
		"PolicyArns.member.1.arn": {"arn:aws:iam::aws:policy/ReadOnlyAccess"},
		"PolicyArns.member.2.arn": {"arn:aws:iam::123456789012:policy/etl"},
	}
	if diff := cmp.Diff(want, sts.forms[0]); diff != "" {
		t.Errorf("form (-want +got):\n%s", diff)
	}
}

func TestFormFieldsMinimal(t *testing.T) {
	sts := newFakeSTS(t, ok(t))
	rec := &recorder{}
	if _, err := rec.client(sts.srv.URL).AssumeRoleWithWebIdentity(context.Background(), validRequest(), rec.token); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"DurationSeconds", "Policy", "PolicyArns.member.1.arn", "ProviderId"} {
		if _, ok := sts.forms[0][absent]; ok {
			t.Errorf("form has %s, want it absent", absent)
		}
	}
}

func TestSuccess(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		want    Credentials
	}{
		{
			name:    "aws shape",
			fixture: "success.xml",
			want: Credentials{
				AccessKeyID:      "ASgeIAIOSFODNN7EXAMPLE",
				SecretAccessKey:  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
				SessionToken:     "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE",
				Expiration:       time.Date(2019, 8, 8, 20, 26, 12, 0, time.UTC),
				AssumedRoleARN:   "arn:aws:sts::123456789012:assumed-role/data-eng/alice@example.com",
				AccountID:        "123456789012",
				SubjectFromToken: "amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A",
				Audience:         "dagster-cli",
				Provider:         "https://id.example.com",
				SourceIdentity:   "alice",
			},
		},
		{
			name:    "minio shape with fractional seconds and empty role user",
			fixture: "success_minio.xml",
			want: Credentials{
				AccessKeyID:      "Y4RJU1RNFGK48LGO9I2S",
				SecretAccessKey:  "sYLRKS1Z7hSjluf6gEbb9066hnx315wHTiACPAjg",
				SessionToken:     "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJhY2Nlc3NLZXkiOiJZNFJKVTFSTkZHSzQ4TEdPOUkyUyJ9.example",
				Expiration:       time.Date(2019, 8, 8, 20, 26, 12, 123000000, time.UTC),
				SubjectFromToken: "alice",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts := newFakeSTS(t, answer{200, fixture(t, tt.fixture)})
			rec := &recorder{}
			got, err := rec.client(sts.srv.URL).AssumeRoleWithWebIdentity(context.Background(), validRequest(), rec.token)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("credentials (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBadSuccessBody(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
	}{
		{"not xml", "hello", "could not parse the STS answer"},
		{"other document", "<Other/>", "could not parse the STS answer"},
		{"no session token", `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey><Expiration>2019-08-08T20:26:12Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`, "the STS answer has no SessionToken"},
		{"bad expiration", `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey><SessionToken>T</SessionToken><Expiration>tomorrow</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`, `could not parse the STS expiration "tomorrow"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts := newFakeSTS(t, answer{200, tt.body})
			rec := &recorder{}
			_, err := rec.client(sts.srv.URL).AssumeRoleWithWebIdentity(context.Background(), validRequest(), rec.token)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if sts.calls() != 1 {
				t.Errorf("calls = %d, want 1 (a bad 200 answer is not retried)", sts.calls())
			}
		})
	}
}

func TestErrorFixtures(t *testing.T) {
	tests := []struct {
		code        string
		wantKind    apperr.Kind
		wantMessage string
	}{
		{CodeAccessDenied, apperr.KindDenied, "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{CodeExpiredToken, apperr.KindDenied, "Token expired: current date/time 1700000000 must be before the expiration date/time 1699990000"},
		{CodeIDPRejectedClaim, apperr.KindDenied, "Received invalid claim from IdP"},
		{CodeRegionDisabled, apperr.KindError, "STS is not activated in this region for account:123456789012."},
		{CodeValidationError, apperr.KindError, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			sts := newFakeSTS(t, stsErr(t, tt.code))
			rec := &recorder{}
			_, err := rec.client(sts.srv.URL).AssumeRoleWithWebIdentity(context.Background(), validRequest(), rec.token)
			var got *Error
			if !errors.As(err, &got) {
				t.Fatalf("err = %v, want *Error", err)
			}
			want := &Error{Code: tt.code, Message: tt.wantMessage, RequestID: "c6104cbe-af31-11e0-8154-cbc7ccf896c7", StatusCode: errorStatus[tt.code]}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if k := apperr.KindOf(err); k != tt.wantKind {
				t.Errorf("kind = %v, want %v", k, tt.wantKind)
			}
			if hint := apperr.HintOf(err); hint != "" {
				t.Errorf("hint = %q, want none: the caller chooses the advice", hint)
			}
			if sts.calls() != 1 || len(rec.sleeps) != 0 {
				t.Errorf("calls = %d, sleeps = %v; want 1 call and no sleep", sts.calls(), rec.sleeps)
			}
			if strings.ContainsAny(err.Error(), "\n") || strings.Contains(err.Error(), testToken) {
				t.Errorf("error must be one line without the token: %q", err)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	proxyPage := answer{502, "<html><body>Bad Gateway</body></html>"}
	tests := []struct {
		name        string
		maxAttempts int
		answers     func(t *testing.T) []answer
		wantCalls   int
		wantSleeps  []time.Duration
		wantCode    string // "" means success
		wantStatus  int
	}{
		{
			name:       "idp communication error then success",
			answers:    func(t *testing.T) []answer { return []answer{stsErr(t, CodeIDPCommunicationError), ok(t)} },
			wantCalls:  2,
			wantSleeps: []time.Duration{250 * time.Millisecond},
		},
		{
			name: "throttled until the attempts run out",
			answers: func(t *testing.T) []answer {
				return []answer{stsErr(t, CodeThrottling), stsErr(t, CodeThrottling), stsErr(t, CodeThrottling), stsErr(t, CodeThrottling)}
			},
			wantCalls:  4,
			wantSleeps: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second},
			wantCode:   CodeThrottling,
			wantStatus: 400,
		},
		{
			name:        "5xx without envelope, custom attempts",
			maxAttempts: 2,
			answers:     func(t *testing.T) []answer { return []answer{proxyPage, proxyPage} },
			wantCalls:   2,
			wantSleeps:  []time.Duration{250 * time.Millisecond},
			wantStatus:  502,
		},
		{
			name: "back-off is capped at 5s",
			answers: func(t *testing.T) []answer {
				a := make([]answer, 0, 8)
				for range 7 {
					a = append(a, answer{503, ""})
				}
				return append(a, ok(t))
			},
			maxAttempts: 8,
			wantCalls:   8,
			wantSleeps: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
				4 * time.Second, 5 * time.Second, 5 * time.Second},
		},
		{
			name:       "access denied is not retried",
			answers:    func(t *testing.T) []answer { return []answer{stsErr(t, CodeAccessDenied)} },
			wantCalls:  1,
			wantCode:   CodeAccessDenied,
			wantStatus: 403,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts := newFakeSTS(t, tt.answers(t)...)
			rec := &recorder{}
			c := rec.client(sts.srv.URL)
			c.MaxAttempts = tt.maxAttempts
			_, err := c.AssumeRoleWithWebIdentity(context.Background(), validRequest(), rec.token)
			if sts.calls() != tt.wantCalls {
				t.Errorf("calls = %d, want %d", sts.calls(), tt.wantCalls)
			}
			if diff := cmp.Diff(tt.wantSleeps, rec.sleeps); diff != "" {
				t.Errorf("sleeps (-want +got):\n%s", diff)
			}
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				return
			}
			var got *Error
			if !errors.As(err, &got) || got.Code != tt.wantCode || got.StatusCode != tt.wantStatus {
				t.Fatalf("err = %v, want code %q status %d", err, tt.wantCode, tt.wantStatus)
			}
		})
	}
}

func TestTransportErrorsAreRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	endpoint := srv.URL
	srv.Close() // nothing listens any more: every call is a transport error
	rec := &recorder{}
	_, err := rec.client(endpoint).AssumeRoleWithWebIdentity(context.Background(), validRequest(), rec.token)
	if err == nil || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Fatalf("err = %v, want a transport error after 4 attempts", err)
	}
	if len(rec.sleeps) != 3 {
		t.Errorf("sleeps = %v, want 3", rec.sleeps)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error leaks the token: %v", err)
	}
}

func TestInvalidIdentityTokenFreshRetry(t *testing.T) {
	tests := []struct {
		name      string
		answers   func(t *testing.T) []answer
		wantErr   bool
		wantForms []string
	}{
		{
			name:      "fresh token succeeds",
			answers:   func(t *testing.T) []answer { return []answer{stsErr(t, CodeInvalidIdentityToken), ok(t)} },
			wantForms: []string{testToken, freshTok},
		},
		{
			name: "fresh token also invalid",
			answers: func(t *testing.T) []answer {
				return []answer{stsErr(t, CodeInvalidIdentityToken), stsErr(t, CodeInvalidIdentityToken)}
			},
			wantErr:   true,
			wantForms: []string{testToken, freshTok},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts := newFakeSTS(t, tt.answers(t)...)
			rec := &recorder{}
			_, err := rec.client(sts.srv.URL).AssumeRoleWithWebIdentity(context.Background(), validRequest(), rec.token)
			if diff := cmp.Diff([]bool{false, true}, rec.fresh); diff != "" {
				t.Errorf("token calls (-want +got):\n%s", diff)
			}
			var got []string
			for _, f := range sts.forms {
				got = append(got, f.Get("WebIdentityToken"))
			}
			if diff := cmp.Diff(tt.wantForms, got); diff != "" {
				t.Errorf("tokens sent (-want +got):\n%s", diff)
			}
			if len(rec.sleeps) != 0 {
				t.Errorf("sleeps = %v, want none before the fresh-token retry", rec.sleeps)
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if apperr.KindOf(err) != apperr.KindDenied {
				t.Errorf("kind = %v, want denied (err %v)", apperr.KindOf(err), err)
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), freshTok) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	boom := errors.New("login required")
	tests := []struct {
		name    string
		token   func(context.Context, bool) (string, error)
		wantErr string
	}{
		{"source fails", func(context.Context, bool) (string, error) { return "", boom }, "could not get an ID token for STS: login required"},
		{"empty", func(context.Context, bool) (string, error) { return "", nil }, "the ID token is empty"},
		{"too short", func(context.Context, bool) (string, error) { return "abc", nil }, "3 characters long"},
		{"too long", func(context.Context, bool) (string, error) { return strings.Repeat("a", 20001), nil }, "20001 characters long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts := newFakeSTS(t)
			rec := &recorder{}
			_, err := rec.client(sts.srv.URL).AssumeRoleWithWebIdentity(context.Background(), validRequest(), tt.token)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if sts.calls() != 0 {
				t.Errorf("calls = %d, want 0", sts.calls())
			}
		})
	}
	t.Run("source error stays in the chain", func(t *testing.T) {
		rec := &recorder{}
		_, err := rec.client("http://127.0.0.1:1/").AssumeRoleWithWebIdentity(context.Background(), validRequest(),
			func(context.Context, bool) (string, error) { return "", boom })
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want it to wrap the source error", err)
		}
	})
}

func TestRequestValidation(t *testing.T) {
	long := strings.Repeat("x", 2049)
	tests := []struct {
		name    string
		mutate  func(*Request)
		wantErr string
	}{
		{"short role ARN", func(r *Request) { r.RoleARN = "arn:aws:iam::1:r" }, "must be 20 to 2048 characters"},
		{"long role ARN", func(r *Request) { r.RoleARN = "arn:aws:iam::123456789012:role/" + long }, "must be 20 to 2048 characters"},
		{"session name with space", func(r *Request) { r.SessionName = "alice smith" }, `has ' '`},
		{"session name too short", func(r *Request) { r.SessionName = "a" }, "must be 2 to 64 characters"},
		{"duration below minimum", func(r *Request) { r.Duration = 10 * time.Minute }, "outside STS's limits"},
		{"duration above maximum", func(r *Request) { r.Duration = 13 * time.Hour }, "outside STS's limits"},
		{"fractional duration", func(r *Request) { r.Duration = time.Hour + time.Millisecond }, "whole number of seconds"},
		{"policy too long", func(r *Request) { r.Policy = long }, "2049 characters long, the limit is 2048"},
		{"policy with bad character", func(r *Request) { r.Policy = `{"a":"☃"}` }, "character STS does not accept"},
		{"eleven policy ARNs", func(r *Request) {
			for range 11 {
				r.PolicyARNs = append(r.PolicyARNs, "arn:aws:iam::aws:policy/ReadOnlyAccess")
			}
		}, "11 session policy ARNs given, the limit is 10"},
		{"short policy ARN", func(r *Request) { r.PolicyARNs = []string{"arn:x"} }, `session policy ARN "arn:x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts := newFakeSTS(t)
			rec := &recorder{}
			r := validRequest()
			tt.mutate(&r)
			_, err := rec.client(sts.srv.URL).AssumeRoleWithWebIdentity(context.Background(), r, rec.token)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			var re *RequestError
			if apperr.KindOf(err) != apperr.KindUsage || !errors.As(err, &re) || apperr.HintOf(err) != "" {
				t.Errorf("kind = %v, hint %q, want a usage *RequestError without advice", apperr.KindOf(err), apperr.HintOf(err))
			}
			if sts.calls() != 0 || len(rec.fresh) != 0 {
				t.Errorf("calls = %d, token calls = %d; want none", sts.calls(), len(rec.fresh))
			}
		})
	}
}

func TestResponseCap(t *testing.T) {
	sts := newFakeSTS(t, ok(t))
	rec := &recorder{}
	c := rec.client(sts.srv.URL)
	c.MaxResponseBytes = 100
	_, err := c.AssumeRoleWithWebIdentity(context.Background(), validRequest(), rec.token)
	if err == nil || !strings.Contains(err.Error(), "larger than 100 bytes") {
		t.Fatalf("err = %v, want the cap error", err)
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	sts := newFakeSTS(t, stsErr(t, CodeThrottling))
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		Endpoint: sts.srv.URL,
		Sleep: func(ctx context.Context, _ time.Duration) error {
			cancel()
			return ctx.Err()
		},
	}
	_, err := c.AssumeRoleWithWebIdentity(ctx, validRequest(), (&recorder{}).token)
	if !errors.Is(err, context.Canceled) || apperr.KindOf(err) != apperr.KindInterrupted {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if sts.calls() != 1 {
		t.Errorf("calls = %d, want 1", sts.calls())
	}
}

func TestDefaultSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (&Client{}).sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep = %v, want context.Canceled", err)
	}
}

func TestDefaultJitter(t *testing.T) {
	c := &Client{}
	for n := 1; n <= 6; n++ {
		d := c.backoff(n)
		nominal := min(baseDelay<<(n-1), maxDelay)
		if d < nominal/2 || d > nominal {
			t.Errorf("backoff(%d) = %s, want within [%s, %s]", n, d, nominal/2, nominal)
		}
	}
}

func TestNoEndpointIsAUsageError(t *testing.T) {
	rec := &recorder{}
	_, err := (&Client{}).AssumeRoleWithWebIdentity(context.Background(), validRequest(), rec.token)
	var ee *EndpointError
	if !errors.As(err, &ee) || apperr.KindOf(err) != apperr.KindUsage || apperr.HintOf(err) != "" || !strings.Contains(err.Error(), "no AWS region is set") {
		t.Errorf("err = %v (kind %v, hint %q), want a usage *EndpointError without advice", err, apperr.KindOf(err), apperr.HintOf(err))
	}
	if len(rec.fresh) != 0 {
		t.Error("a token was asked for")
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		name, endpoint, region, want, wantErr string
	}{
		{name: "regional", region: "eu-west-1", want: "https://sts.eu-west-1.amazonaws.com/"},
		{name: "china", region: "cn-north-1", want: "https://sts.cn-north-1.amazonaws.com.cn/"},
		{name: "explicit wins", endpoint: "http://127.0.0.1:9000", region: "us-east-1", want: "http://127.0.0.1:9000"},
		{name: "no region", wantErr: "no AWS region is set"},
		{name: "region with a host in it", region: "evil.com/x", wantErr: "is not a region name"},
		{name: "bad endpoint", endpoint: "ftp://x", wantErr: "is not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := (&Client{Endpoint: tt.endpoint, Region: tt.region}).endpoint()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("endpoint = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
