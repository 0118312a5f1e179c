package sandbox

import (
	"maps"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	exstorage "github.com/zitadel/oidc/v3/example/server/storage"
)

// User is a person who can log in to the sandbox.
type User struct {
	// ID is both the login name and the `sub` claim.
	ID       string
	Password string
	Email    string
	// EmailVerified becomes the email_verified claim.
	EmailVerified bool
	Name          string
	// Groups becomes the `groups` claim (omitted when empty).
	Groups []string
	// Policy becomes MinIO's `policy` claim (omitted when empty).
	Policy string
	// Extra claims are added to every ID token and userinfo answer as they
	// are, e.g. "https://aws.amazon.com/tags".
	Extra map[string]any
}

// DemoUsers returns alice (data-eng, MinIO policy readwrite), bob (analysts,
// readonly) and mallory (no groups, no policy). Each password is the user
// name followed by "-password".
func DemoUsers() []User {
	return []User{
		{ID: "alice", Password: "alice-password", Email: "alice@example.com", EmailVerified: true, Name: "Alice Example", Groups: []string{"data-eng"}, Policy: "readwrite"},
		{ID: "bob", Password: "bob-password", Email: "bob@example.com", EmailVerified: true, Name: "Bob Example", Groups: []string{"analysts"}, Policy: "readonly"},
		{ID: "mallory", Password: "mallory-password", Email: "mallory@example.com", Name: "Mallory Example"},
	}
}

// userStore adapts the sandbox users to the example storage's UserStore,
// with ID == username (quirk 2 in docs/sandbox.md).
type userStore struct {
	byID map[string]User
}

func newUserStore(users []User) userStore {
	m := make(map[string]User, len(users))
	for _, u := range users {
		m[u.ID] = u
	}
	return userStore{byID: m}
}

// GetUserByID implements exstorage.UserStore.
func (s userStore) GetUserByID(id string) *exstorage.User {
	u, ok := s.byID[id]
	if !ok {
		return nil
	}
	return &exstorage.User{ID: u.ID, Username: u.ID, Password: u.Password, FirstName: u.Name, Email: u.Email, EmailVerified: u.EmailVerified}
}

// GetUserByUsername implements exstorage.UserStore.
func (s userStore) GetUserByUsername(name string) *exstorage.User { return s.GetUserByID(name) }

// ExampleClientID implements exstorage.UserStore. It names no client: the
// example's JWT-profile service user is disabled in the sandbox.
func (s userStore) ExampleClientID() string { return "" }

// check reports whether the password is the user's.
func (s userStore) check(id, password string) bool {
	u, ok := s.byID[id]
	return ok && password != "" && u.Password == password
}

// fillUserinfo writes the user's claims into info, whatever the scopes: the
// sandbox always asserts them so that ID tokens from every grant carry them.
func (s userStore) fillUserinfo(info *oidc.UserInfo, id string) bool {
	u, ok := s.byID[id]
	if !ok {
		return false
	}
	info.Subject = u.ID
	info.PreferredUsername = u.ID
	info.Name = u.Name
	if u.Email != "" {
		info.Email = u.Email
		// oidc.Bool omits false; assert an unverified address explicitly.
		info.AppendClaims("email_verified", u.EmailVerified)
	}
	if len(u.Groups) > 0 {
		info.AppendClaims("groups", append([]string(nil), u.Groups...))
	}
	if u.Policy != "" {
		info.AppendClaims("policy", u.Policy)
	}
	for k, v := range maps.All(u.Extra) {
		info.AppendClaims(k, v)
	}
	return true
}
