package flow

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/dagster-oidc/dagster-oidc/internal/atomicfile"
	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/clock"
	"github.com/dagster-oidc/dagster-oidc/internal/safehttp"
)

// MaxResponseBytes caps every response body read from an IdP.
const MaxResponseBytes = 1 << 20

// DefaultDiscoveryTTL is how long a cached discovery document and JWKS are
// trusted before they are fetched again.
const DefaultDiscoveryTTL = 24 * time.Hour

// Metadata is the part of an issuer's discovery document dagster-oidc uses.
type Metadata struct {
	Issuer        string   `json:"issuer"`
	AuthURL       string   `json:"authorization_endpoint"`
	TokenURL      string   `json:"token_endpoint"`
	DeviceAuthURL string   `json:"device_authorization_endpoint"`
	JWKSURL       string   `json:"jwks_uri"`
	RevocationURL string   `json:"revocation_endpoint"`
	Algorithms    []string `json:"id_token_signing_alg_values_supported"`
	GrantTypes    []string `json:"grant_types_supported"`
	// IssParameterSupported promises iss on every authorization response
	// (RFC 9207 §3); the browser flow then requires it.
	IssParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
}

// checkEndpoints applies the issuer's rule to every endpoint the document
// names: https, or http on a loopback address only (issue 15.6).
func (m *Metadata) checkEndpoints() error {
	for _, e := range []struct{ key, url string }{
		{"authorization_endpoint", m.AuthURL},
		{"token_endpoint", m.TokenURL},
		{"device_authorization_endpoint", m.DeviceAuthURL},
		{"jwks_uri", m.JWKSURL},
		{"revocation_endpoint", m.RevocationURL},
	} {
		if e.url == "" {
			continue
		}
		if err := safehttp.CheckURL(e.url); err != nil {
			return fmt.Errorf("%s %w", e.key, err)
		}
	}
	return nil
}

// Discovery fetches an issuer's discovery document and JWKS, keeping a copy
// of each on disk for TTL so that later processes need no request at all.
type Discovery struct {
	Issuer string
	HTTP   *http.Client
	// Dir holds the cached documents; "" disables the disk cache.
	Dir   string
	TTL   time.Duration
	Clock clock.Clock
}

type cachedDoc struct {
	FetchedAt time.Time       `json:"fetched_at"`
	Body      json.RawMessage `json:"body"`
}

// Metadata returns the issuer's discovery document, from the disk cache when
// fresh. The document's issuer must equal the configured one byte for byte.
func (d *Discovery) Metadata(ctx context.Context) (*Metadata, error) {
	u := strings.TrimSuffix(d.Issuer, "/") + "/.well-known/openid-configuration"
	body, err := d.get(ctx, u, false)
	if err != nil {
		return nil, fmt.Errorf("could not fetch the discovery document of %s: %w", d.Issuer, err)
	}
	var m Metadata
	if err := json.Unmarshal(body, &m); err != nil {
		d.forget(u)
		return nil, fmt.Errorf("discovery document at %s is not valid JSON: %w", u, err)
	}
	if m.Issuer != d.Issuer {
		d.forget(u)
		return nil, fmt.Errorf("issuer mismatch: the profile says %q but %s says %q (they must match exactly, trailing slash included)", d.Issuer, u, m.Issuer)
	}
	if m.JWKSURL == "" {
		d.forget(u)
		return nil, fmt.Errorf("discovery document at %s has no jwks_uri", u)
	}
	if err := m.checkEndpoints(); err != nil {
		d.forget(u)
		return nil, fmt.Errorf("discovery document at %s: %w", u, err)
	}
	return &m, nil
}

// KeySet returns a key set over the issuer's JWKS that uses the cached copy
// first and fetches it again once when a token's key is not in it.
func (d *Discovery) KeySet(jwksURL string) oidc.KeySet {
	return &cachedKeySet{d: d, url: jwksURL}
}

type cachedKeySet struct {
	d        *Discovery
	url      string
	fetchErr error
}

// FetchError is the error of the last attempt to obtain the keys, nil when
// they were obtained (a signature failure is then the token's fault).
func (k *cachedKeySet) FetchError() error { return k.fetchErr }

// VerifySignature verifies with the cached keys, refreshing them once on failure.
func (k *cachedKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.verify(ctx, jwt, false)
	if err == nil || errors.Is(err, cache.ErrUntrusted) {
		return payload, err
	}
	return k.verify(ctx, jwt, true)
}

func (k *cachedKeySet) verify(ctx context.Context, jwt string, fresh bool) ([]byte, error) {
	k.fetchErr = nil
	body, err := k.d.get(ctx, k.url, fresh)
	if err != nil {
		k.fetchErr = fmt.Errorf("could not fetch the issuer's keys: %w", err)
		return nil, k.fetchErr
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		k.d.forget(k.url)
		k.fetchErr = fmt.Errorf("the issuer's JWKS at %s is not valid JSON: %w", k.url, err)
		return nil, k.fetchErr
	}
	keys := make([]crypto.PublicKey, 0, len(set.Keys))
	for _, key := range set.Keys {
		if key.Use == "" || key.Use == "sig" {
			keys = append(keys, key.Key)
		}
	}
	if len(keys) == 0 {
		k.fetchErr = fmt.Errorf("the issuer's JWKS at %s holds no signing key", k.url)
		return nil, k.fetchErr
	}
	return (&oidc.StaticKeySet{PublicKeys: keys}).VerifySignature(ctx, jwt)
}

func (d *Discovery) cachePath(u string) string {
	sum := sha256.Sum256([]byte(u))
	return filepath.Join(d.Dir, "discovery", hex.EncodeToString(sum[:12])+".json")
}

func (d *Discovery) forget(u string) {
	if d.Dir != "" {
		_ = os.Remove(d.cachePath(u))
	}
}

// get returns the body at u, from the disk cache unless fresh is set or the
// copy is older than TTL.
func (d *Discovery) get(ctx context.Context, u string, fresh bool) ([]byte, error) {
	ttl := d.TTL
	if ttl == 0 {
		ttl = DefaultDiscoveryTTL
	}
	now := d.now()
	if d.Dir != "" && !fresh {
		data, err := cache.ReadTrusted(d.cachePath(u))
		if errors.Is(err, cache.ErrUntrusted) {
			return nil, err
		}
		if err == nil {
			var c cachedDoc
			if json.Unmarshal(data, &c) == nil && now.Sub(c.FetchedAt) < ttl && now.After(c.FetchedAt.Add(-time.Minute)) {
				return c.Body, nil
			}
		}
	}
	body, err := fetch(ctx, d.HTTP, u)
	if err != nil {
		return nil, err
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("%s answered something that is not JSON", u)
	}
	if d.Dir != "" {
		p := d.cachePath(u)
		if err := cache.EnsurePrivateDir(filepath.Dir(p)); err != nil {
			return nil, err
		}
		data, _ := json.Marshal(cachedDoc{FetchedAt: now, Body: body})
		_ = atomicfile.Write(p, data, 0o600)
	}
	return body, nil
}

func (d *Discovery) now() time.Time {
	if d.Clock == nil {
		return time.Now()
	}
	return d.Clock.Now()
}

// fetch GETs u and returns at most MaxResponseBytes of a 200 answer.
func fetch(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := safehttp.SameOriginGETs(httpClient(client)).Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, plainTimeout(ue)
		}
		return nil, err
	}
	defer resp.Body.Close()
	body, err := readCapped(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered HTTP %d", u, resp.StatusCode)
	}
	return body, nil
}

// ErrResponseTooLarge is returned when an IdP answers more than MaxResponseBytes.
var ErrResponseTooLarge = errors.New("response is larger than 1 MiB")

func readCapped(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxResponseBytes {
		return nil, ErrResponseTooLarge
	}
	return b, nil
}

// httpClient is c, or a client with a 30 s timeout, that follows no
// redirect: every IdP call but discovery carries a code, a token or a
// secret (issue 15.5).
func httpClient(c *http.Client) *http.Client {
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	return safehttp.NoRedirects(c)
}
