package sandbox

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	exstorage "github.com/zitadel/oidc/v3/example/server/storage"
)

// The sandbox keeps its own access and refresh tokens, grouped in grants
// (one grant per login), so that rotation, reuse detection and revocation of
// a whole grant work for every grant type. The example storage's own token
// maps are never used.

// grant is one login: what every token issued from it shares.
type grant struct {
	id       string
	subject  string
	clientID string
	audience []string
	scopes   []string
	authTime time.Time
	amr      []string
	revoked  bool
}

type refreshEntry struct {
	grantID string
	used    bool
	expires time.Time
}

type accessEntry struct {
	grantID  string
	subject  string
	clientID string
	scopes   []string
	expires  time.Time
}

// refreshRequest implements op.RefreshTokenRequest for a grant.
type refreshRequest struct {
	grantID  string
	subject  string
	clientID string
	audience []string
	scopes   []string
	authTime time.Time
	amr      []string
}

func (r *refreshRequest) GetAMR() []string                 { return r.amr }
func (r *refreshRequest) GetAudience() []string            { return r.audience }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.authTime }
func (r *refreshRequest) GetClientID() string              { return r.clientID }
func (r *refreshRequest) GetScopes() []string              { return r.scopes }
func (r *refreshRequest) GetSubject() string               { return r.subject }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

var errRefreshReused = errors.New("refresh token already used")

// newID returns 32 random hex digits.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x", b)
}

// CreateAccessToken implements op.Storage.
func (s *store) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.grantFor(req)
	a := s.newAccess(g.id, g.subject, g.clientID, req.GetScopes())
	return a.id, a.expires, nil
}

// CreateAccessAndRefreshTokens implements op.Storage. Unlike the example it
// accepts device authorizations (quirk 3), and it rotates refresh tokens only
// when asked to.
func (s *store) CreateAccessAndRefreshTokens(_ context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if current == "" {
		g := s.grantFor(req)
		s.grants[g.id] = g
		a := s.newAccess(g.id, g.subject, g.clientID, req.GetScopes())
		return a.id, s.newRefresh(g.id), a.expires, nil
	}
	e, g, err := s.lookupRefresh(current)
	if err != nil {
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("%s", err)
	}
	next := current
	if s.opts.RotateRefreshTokens {
		e.used = true
		next = s.newRefresh(g.id)
	}
	a := s.newAccess(g.id, g.subject, g.clientID, req.GetScopes())
	return a.id, next, a.expires, nil
}

// TokenRequestByRefreshToken implements op.Storage.
func (s *store) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, g, err := s.lookupRefresh(token)
	if err != nil {
		return nil, err
	}
	return &refreshRequest{
		grantID: g.id, subject: g.subject, clientID: g.clientID,
		audience: g.audience, scopes: append([]string(nil), g.scopes...),
		authTime: g.authTime, amr: g.amr,
	}, nil
}

// GetRefreshTokenInfo implements op.Storage.
func (s *store) GetRefreshTokenInfo(_ context.Context, _ string, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.refresh[token]
	if !ok {
		return "", "", op.ErrInvalidRefreshToken
	}
	return s.grants[e.grantID].subject, token, nil
}

// RevokeToken implements op.Storage (RFC 7009): revoking a refresh token
// revokes its whole grant.
func (s *store) RevokeToken(_ context.Context, tokenOrID, _ string, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.access[tokenOrID]; ok {
		if a.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued for this client")
		}
		delete(s.access, tokenOrID)
		return nil
	}
	if e, ok := s.refresh[tokenOrID]; ok {
		g := s.grants[e.grantID]
		if g.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued for this client")
		}
		s.revokeGrant(g)
	}
	return nil
}

// TerminateSession implements op.Storage: it revokes the user's grants.
func (s *store) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.grants {
		if g.subject == userID && g.clientID == clientID {
			s.revokeGrant(g)
		}
	}
	return nil
}

// SetUserinfoFromToken implements op.Storage (the userinfo endpoint).
func (s *store) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	s.mu.Lock()
	a, ok := s.access[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(a.expires) {
		return errors.New("token is invalid or has expired")
	}
	if !s.users.fillUserinfo(info, a.subject) {
		return errors.New("user not found")
	}
	return nil
}

// grantFor describes the login behind a token request; the caller holds mu.
func (s *store) grantFor(req op.TokenRequest) *grant {
	g := &grant{id: newID(), subject: req.GetSubject(), audience: req.GetAudience(), scopes: req.GetScopes()}
	switch r := req.(type) {
	case *exstorage.AuthRequest:
		g.clientID, g.authTime, g.amr = r.ApplicationID, r.GetAuthTime(), r.GetAMR()
	case *op.DeviceAuthorizationState:
		g.clientID, g.authTime, g.amr = r.ClientID, r.AuthTime, r.AMR
	case *refreshRequest:
		g = s.grants[r.grantID]
	}
	return g
}

// lookupRefresh finds a live refresh token; presenting a used one counts as
// reuse and, with RevokeOnRefreshReuse, revokes its grant. The caller holds mu.
func (s *store) lookupRefresh(token string) (*refreshEntry, *grant, error) {
	e, ok := s.refresh[token]
	if !ok {
		return nil, nil, errors.New("invalid refresh token")
	}
	g := s.grants[e.grantID]
	if g.revoked {
		return nil, nil, errors.New("refresh token revoked")
	}
	if e.used {
		s.rec.update(func(st *Stats) { st.RefreshReuses++ })
		if s.opts.RevokeOnRefreshReuse {
			s.revokeGrant(g)
		}
		return nil, nil, errRefreshReused
	}
	if time.Now().After(e.expires) {
		return nil, nil, errors.New("refresh token expired")
	}
	return e, g, nil
}

// revokeGrant kills every token of g; the caller holds mu.
func (s *store) revokeGrant(g *grant) {
	if g.revoked {
		return
	}
	g.revoked = true
	for id, a := range s.access {
		if a.grantID == g.id {
			delete(s.access, id)
		}
	}
	s.rec.update(func(st *Stats) { st.GrantsRevoked++ })
}

type issuedAccess struct {
	id      string
	expires time.Time
}

// newAccess stores an access token; the caller holds mu.
func (s *store) newAccess(grantID, subject, clientID string, scopes []string) issuedAccess {
	id := newID()
	exp := time.Now().Add(s.opts.IDTokenLifetime)
	s.access[id] = &accessEntry{grantID: grantID, subject: subject, clientID: clientID, scopes: scopes, expires: exp}
	return issuedAccess{id: id, expires: exp}
}

// newRefresh stores a refresh token; the caller holds mu.
func (s *store) newRefresh(grantID string) string {
	t := newID()
	s.refresh[t] = &refreshEntry{grantID: grantID, expires: time.Now().Add(DefaultRefreshLifetime)}
	return t
}
