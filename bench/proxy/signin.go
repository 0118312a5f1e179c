package main

import (
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// idpSignIn opens start as a browser navigation, signs benchUser in at the
// sandbox's form, follows the redirects back to base, and returns the
// Cookie header the browser now sends to base.
func (s *stack) idpSignIn(start, base string) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	req, _ := http.NewRequest("GET", start, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if id == "" || !strings.Contains(string(page), `id="username"`) {
		return "", fmt.Errorf("%s did not lead to the sandbox's sign-in form (HTTP %d at %s)", start, resp.StatusCode, resp.Request.URL.Redacted())
	}
	form := url.Values{"id": {id}, "username": {benchUser.ID}, "password": {benchUser.Password}}
	req, _ = http.NewRequest("POST", s.sb.Issuer()+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	resp, err = c.Do(req)
	if err != nil {
		return "", err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(resp.Request.URL.String(), base) || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("the sign-in ended at %s with HTTP %d", resp.Request.URL.Redacted(), resp.StatusCode)
	}
	h := cookieHeader(jar, base)
	if h == "" {
		return "", errors.New("no session cookie after sign-in")
	}
	return h, nil
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// authkitSignIn signs in at dagster-authkit's form (CSRF double submit) and
// returns the Cookie header with its session.
func authkitSignIn(base, user, password string) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.Get(base + "/auth/login")
	if err != nil {
		return "", err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindStringSubmatch(string(page))
	if m == nil {
		return "", fmt.Errorf("no csrf_token in the login page (HTTP %d)", resp.StatusCode)
	}
	form := url.Values{"username": {user}, "password": {password}, "csrf_token": {html.UnescapeString(m[1])}, "next": {"/"}}
	resp, err = c.PostForm(base+"/auth/process", form)
	if err != nil {
		return "", err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	h := cookieHeader(jar, base)
	if !strings.Contains(h, "dagster_session=") {
		return "", fmt.Errorf("no dagster_session cookie after the login form (HTTP %d at %s)", resp.StatusCode, resp.Request.URL.Path)
	}
	return h, nil
}
