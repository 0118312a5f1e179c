package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mdp/qrterminal/v3"

	"github.com/dagster-oidc/dagster-oidc/internal/apperr"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/safehttp"
	"github.com/dagster-oidc/dagster-oidc/internal/termsafe"
)

// DeviceFlow is the OAuth 2.0 Device Authorization Grant (RFC 8628).
type DeviceFlow struct {
	ClientID     string
	ClientSecret string
	Scopes       []string
	// DeviceAuthURL and TokenURL come from the issuer's discovery document.
	DeviceAuthURL string
	TokenURL      string
	// Issuer is the profile's issuer: a verification_uri on another host is
	// shown with a warning.
	Issuer string
	HTTP   *http.Client
	// Prompt receives what the user reads: URL, code, time left. Never stdout.
	Prompt io.Writer
	// QR prints a terminal QR code of verification_uri_complete.
	QR    bool
	Clock clock.Clock
	// Sleep waits between polls; tests inject one that records intervals.
	Sleep func(context.Context, time.Duration) error
}

// Name returns "device".
func (d *DeviceFlow) Name() string { return "device" }

// Interactive returns true: a person approves the login.
func (d *DeviceFlow) Interactive() bool { return true }

// deviceAuthResponse is RFC 8628 §3.2.
type deviceAuthResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURL         string `json:"verification_url"` // Google's spelling
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
	Error                   string `json:"error"`
	ErrorDescription        string `json:"error_description"`
}

// ErrAccessDenied is returned when the user refuses the device login.
var ErrAccessDenied = errors.New("the login was denied at the identity provider")

// ErrDeviceCodeExpired is returned when nobody approved the code in time.
var ErrDeviceCodeExpired = errors.New("the device code expired before the login was approved")

// Token runs the flow: request a code, show it, poll until approved.
func (d *DeviceFlow) Token(ctx context.Context) (*Token, error) {
	if d.DeviceAuthURL == "" {
		return nil, errors.New("the issuer does not advertise a device_authorization_endpoint; use --flow browser")
	}
	da, err := d.authorize(ctx)
	if err != nil {
		return nil, err
	}
	now := d.now()
	deadline := now.Add(time.Duration(da.ExpiresIn) * time.Second)
	d.show(da, deadline.Sub(now))

	// RFC 8628 §3.5: the default interval is 5 s; slow_down adds 5 s to it
	// for this and every later request.
	interval := 5 * time.Second
	if da.Interval > 0 {
		interval = time.Duration(da.Interval) * time.Second
	}
	form := url.Values{
		"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
		"device_code": {da.DeviceCode},
		"client_id":   {d.ClientID},
	}
	for {
		if err := d.sleep(ctx, interval); err != nil {
			return nil, err
		}
		if !d.now().Before(deadline) {
			return nil, expiredCode()
		}
		tr, status, err := postForm(ctx, d.HTTP, d.TokenURL, form, d.ClientSecret)
		var oe *OAuthError
		switch {
		case err == nil:
			if tr.IDToken == "" {
				return nil, fmt.Errorf("the token endpoint returned no id_token; add the openid scope to the profile's scopes")
			}
			return &Token{IDToken: tr.IDToken, RefreshToken: tr.RefreshToken, Source: d.Name()}, nil
		case errors.As(err, &oe):
			switch oe.Code {
			case "authorization_pending":
				continue
			case "slow_down":
				interval += 5 * time.Second
				continue
			case "access_denied":
				return nil, apperr.Denied(ErrAccessDenied, "ask your IdP administrator whether you may use this client, or run dagster-oidc login again")
			case "expired_token":
				return nil, expiredCode()
			}
			return nil, fmt.Errorf("device login failed: %w", err)
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case status >= 500 || status == 0:
			// RFC 8628 §3.5: on connection trouble, back off.
			interval *= 2
			if interval > time.Minute {
				interval = time.Minute
			}
			continue
		default:
			return nil, fmt.Errorf("device login failed: %w", err)
		}
	}
}

func (d *DeviceFlow) authorize(ctx context.Context) (*deviceAuthResponse, error) {
	form := url.Values{"client_id": {d.ClientID}, "scope": {strings.Join(d.Scopes, " ")}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.DeviceAuthURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if d.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(d.ClientID), url.QueryEscape(d.ClientSecret))
	}
	resp, err := httpClient(d.HTTP).Do(req)
	if err != nil {
		return nil, fmt.Errorf("could not reach the device authorization endpoint %s: %w", endpointName(d.DeviceAuthURL), redactURLError(err))
	}
	defer resp.Body.Close()
	body, err := readCapped(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the device authorization answer: %w", err)
	}
	var da deviceAuthResponse
	if err := json.Unmarshal(body, &da); err != nil {
		return nil, fmt.Errorf("the device authorization endpoint answered HTTP %d with something that is not JSON", resp.StatusCode)
	}
	// Everything below reaches the terminal (issue 15.4).
	for _, f := range []*string{&da.UserCode, &da.VerificationURI, &da.VerificationURL, &da.VerificationURIComplete, &da.Error, &da.ErrorDescription} {
		*f = termsafe.Clean(*f)
	}
	if da.Error != "" {
		return nil, &OAuthError{Endpoint: endpointName(d.DeviceAuthURL), StatusCode: resp.StatusCode, Code: da.Error, Description: da.ErrorDescription}
	}
	if da.VerificationURI == "" {
		da.VerificationURI = da.VerificationURL
	}
	for _, u := range []string{da.VerificationURI, da.VerificationURIComplete} {
		if u == "" {
			continue
		}
		if err := safehttp.CheckURL(u); err != nil {
			return nil, fmt.Errorf("the device authorization answer's verification_uri is not a page to log in on: %w", err)
		}
	}
	if da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "" || da.ExpiresIn <= 0 {
		return nil, errors.New("the device authorization answer lacks device_code, user_code, verification_uri or expires_in (RFC 8628 §3.2)")
	}
	return &da, nil
}

func (d *DeviceFlow) show(da *deviceAuthResponse, left time.Duration) {
	w := d.Prompt
	if w == nil {
		w = io.Discard
	}
	left = left.Round(time.Second)
	if host, ok := d.foreignHost(da); !ok {
		fmt.Fprintf(w, "WARNING: the login page is on %s, not on the issuer's host %s: sign in only if you expect this page for your identity provider.\n", host, hostOf(d.Issuer))
	}
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(w, "To log in, open %s\n", da.VerificationURIComplete)
		fmt.Fprintf(w, "and check that it shows the code %s (or open %s and enter it).\n", da.UserCode, da.VerificationURI)
		if d.QR {
			qrterminal.GenerateHalfBlock(da.VerificationURIComplete, qrterminal.L, w)
		}
	} else {
		fmt.Fprintf(w, "To log in, open %s and enter the code %s\n", da.VerificationURI, da.UserCode)
	}
	fmt.Fprintf(w, "The code expires in %s. Waiting for approval (Ctrl-C to cancel)...\n", left)
}

// foreignHost returns the host of the verification URIs and whether each
// is on the issuer's host (true when no issuer is configured).
func (d *DeviceFlow) foreignHost(da *deviceAuthResponse) (string, bool) {
	if d.Issuer == "" {
		return "", true
	}
	want := hostOf(d.Issuer)
	for _, u := range []string{da.VerificationURI, da.VerificationURIComplete} {
		if h := hostOf(u); u != "" && !strings.EqualFold(h, want) {
			return h, false
		}
	}
	return "", true
}

// hostOf is the host name of a URL, "" when it has none.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func (d *DeviceFlow) now() time.Time {
	if d.Clock == nil {
		return time.Now()
	}
	return d.Clock.Now()
}

func (d *DeviceFlow) sleep(ctx context.Context, t time.Duration) error {
	if d.Sleep != nil {
		return d.Sleep(ctx, t)
	}
	return clock.Sleep(ctx, t)
}

func expiredCode() error {
	return apperr.New(apperr.KindError, ErrDeviceCodeExpired, "run dagster-oidc login again and approve the code before it expires")
}
