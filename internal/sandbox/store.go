package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	exstorage "github.com/zitadel/oidc/v3/example/server/storage"
)

// store wraps the zitadel example storage (auth requests, codes, device
// codes, signing key) without forking it. The example's package-global
// client map is never used: each store gets its own map through
// NewStorageWithClients, so many sandboxes can run in one process.
type store struct {
	*exstorage.Storage
	opts   Options
	client nativeClient
	users  userStore
	rec    *recorder

	mu      sync.Mutex
	grants  map[string]*grant
	refresh map[string]*refreshEntry
	access  map[string]*accessEntry
	// approvedAt and redeemed are keyed by the example's device state
	// pointers, which stay the same for a device authorization's life.
	approvedAt map[*op.DeviceAuthorizationState]time.Time
	redeemed   map[*op.DeviceAuthorizationState]bool
}

func newStore(o Options, rec *recorder) *store {
	users := newUserStore(o.Users)
	inner := exstorage.NativeClient(o.ClientID)
	return &store{
		Storage:    exstorage.NewStorageWithClients(users, map[string]*exstorage.Client{o.ClientID: inner}),
		opts:       o,
		client:     nativeClient{Client: inner, idTokenLifetime: o.IDTokenLifetime},
		users:      users,
		rec:        rec,
		grants:     map[string]*grant{},
		refresh:    map[string]*refreshEntry{},
		access:     map[string]*accessEntry{},
		approvedAt: map[*op.DeviceAuthorizationState]time.Time{},
		redeemed:   map[*op.DeviceAuthorizationState]bool{},
	}
}

// GetClientByClientID implements op.Storage with the wrapped client.
func (s *store) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	if clientID != s.client.GetID() {
		return nil, errors.New("client not found")
	}
	return s.client, nil
}

// SetUserinfoFromRequest implements op.CanSetUserinfoFromRequest: every ID
// token carries the user's claims (email, name, groups, policy, extras).
func (s *store) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, _ []string) error {
	if !s.users.fillUserinfo(info, req.GetSubject()) {
		return errors.New("user not found")
	}
	return nil
}

// GetDeviceAuthorizatonState implements op.DeviceAuthorizationStorage. It
// returns a copy (so the op never reads state the sandbox is writing),
// carrying auth_time, and lets an approved device code be redeemed once.
func (s *store) GetDeviceAuthorizatonState(ctx context.Context, clientID, deviceCode string) (*op.DeviceAuthorizationState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	state, err := s.Storage.GetDeviceAuthorizatonState(ctx, clientID, deviceCode)
	if err != nil {
		return nil, err
	}
	if s.redeemed[state] {
		return nil, errors.New("device code already redeemed")
	}
	cp := *state
	if cp.Done {
		s.redeemed[state] = true
		cp.AuthTime = s.approvedAt[state]
		cp.AMR = []string{"pwd"}
	}
	return &cp, nil
}

// decideDevice approves (userID != "") or denies a pending user code.
func (s *store) decideDevice(ctx context.Context, userCode, userID string) error {
	userCode = normalizeUserCode(userCode)
	s.mu.Lock()
	defer s.mu.Unlock()
	state, err := s.Storage.GetDeviceAuthorizationByUserCode(ctx, userCode)
	if err != nil {
		return fmt.Errorf("could not find user code %q: %w", userCode, err)
	}
	switch {
	case state.Done || state.Denied:
		return fmt.Errorf("user code %q was already decided", userCode)
	case time.Now().After(state.Expires):
		return fmt.Errorf("user code %q has expired", userCode)
	case userID == "":
		return s.Storage.DenyDeviceAuthorization(ctx, userCode)
	}
	if _, ok := s.users.byID[userID]; !ok {
		return fmt.Errorf("could not find user %q", userID)
	}
	if err := s.Storage.CompleteDeviceAuthorization(ctx, userCode, userID); err != nil {
		return fmt.Errorf("could not approve user code %q: %w", userCode, err)
	}
	s.approvedAt[state] = time.Now()
	return nil
}

// normalizeUserCode accepts "bcdf ghjk", "BCDFGHJK" and "BCDF-GHJK".
func normalizeUserCode(code string) string {
	code = strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(code)))
	if len(code) == op.UserCodeBase20.CharAmount {
		code = code[:4] + "-" + code[4:]
	}
	return code
}

// ClientCredentials disables the example's built-in service user.
func (s *store) ClientCredentials(context.Context, string, string) (op.Client, error) {
	return nil, errors.New("client credentials are not supported by the sandbox")
}

// ClientCredentialsTokenRequest disables the example's built-in service user.
func (s *store) ClientCredentialsTokenRequest(context.Context, string, []string) (op.TokenRequest, error) {
	return nil, errors.New("client credentials are not supported by the sandbox")
}

// GetKeyByIDAndClientID disables the example's JWT-profile service key.
func (s *store) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("jwt profile grants are not supported by the sandbox")
}
