package sandbox

import (
	"context"
	"html/template"
	"net/http"
	"strings"
)

// devicePath is the device verification page (verification_uri).
const devicePath = "/device"

var pages = template.Must(template.New("pages").Parse(`
{{define "head"}}<!doctype html><html><head><meta charset="utf-8"><title>dagster-oidc sandbox</title></head><body>
<h1>dagster-oidc sandbox</h1>{{if .Error}}<p id="error" style="color:#b00">{{.Error}}</p>{{end}}{{end}}
{{define "login"}}{{template "head" .}}
<form method="post" action="` + loginPath + `">
<input type="hidden" name="id" value="{{.ID}}">
<p><label for="username">Username</label> <input id="username" name="username" autocomplete="username" value="{{.Username}}"></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password"></p>
<p><button id="submit" type="submit">Sign in</button></p>
</form></body></html>{{end}}
{{define "device"}}{{template "head" .}}
<p>Enter the code your device shows and sign in to approve it.</p>
<form method="post" action="` + devicePath + `">
<p><label for="user_code">Code</label> <input id="user_code" name="user_code" value="{{.UserCode}}"></p>
<p><label for="username">Username</label> <input id="username" name="username" autocomplete="username" value="{{.Username}}"></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password"></p>
<p><button id="submit" type="submit" name="action" value="approve">Approve</button>
<button id="deny" type="submit" name="action" value="deny">Deny</button></p>
</form></body></html>{{end}}
{{define "done"}}{{template "head" .}}<p id="result">{{.Message}}</p></body></html>{{end}}
`))

type pageData struct {
	ID, UserCode, Username, Error, Message string
}

func render(w http.ResponseWriter, status int, name string, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, name, d)
}

// loginPage serves the authorization code flow's login form; on success it
// marks the auth request done and redirects to the op's callback, which
// redirects to the client's redirect_uri with code and state.
type loginPage struct {
	store    *store
	callback func(ctx context.Context, authRequestID string) string
}

func (p *loginPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		render(w, http.StatusBadRequest, "done", pageData{Error: "could not parse the form"})
		return
	}
	id := r.Form.Get("authRequestID")
	if r.Method != http.MethodPost {
		if _, err := p.store.AuthRequestByID(r.Context(), id); err != nil {
			render(w, http.StatusBadRequest, "done", pageData{Error: "unknown or finished login request"})
			return
		}
		render(w, http.StatusOK, "login", pageData{ID: id})
		return
	}
	id = r.PostForm.Get("id")
	username := strings.TrimSpace(r.PostForm.Get("username"))
	if err := p.store.CheckUsernamePassword(username, r.PostForm.Get("password"), id); err != nil {
		render(w, http.StatusUnauthorized, "login", pageData{ID: id, Username: username, Error: "wrong username or password"})
		return
	}
	http.Redirect(w, r, p.callback(r.Context(), id), http.StatusFound)
}

// devicePage lets a person type a user code, sign in and approve or deny it.
type devicePage struct {
	store *store
}

func (p *devicePage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		render(w, http.StatusBadRequest, "done", pageData{Error: "could not parse the form"})
		return
	}
	code := r.Form.Get("user_code")
	if r.Method != http.MethodPost {
		render(w, http.StatusOK, "device", pageData{UserCode: code})
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	again := pageData{UserCode: code, Username: username}
	if !p.store.users.check(username, r.PostForm.Get("password")) {
		again.Error = "wrong username or password"
		render(w, http.StatusUnauthorized, "device", again)
		return
	}
	approve := r.PostForm.Get("action") != "deny"
	userID := ""
	if approve {
		userID = username
	}
	if err := p.store.decideDevice(r.Context(), code, userID); err != nil {
		again.Error = err.Error()
		render(w, http.StatusBadRequest, "device", again)
		return
	}
	msg := "Device denied. You can close this window."
	if approve {
		msg = "Device approved. You can close this window and return to your terminal."
	}
	render(w, http.StatusOK, "done", pageData{Message: msg})
}
