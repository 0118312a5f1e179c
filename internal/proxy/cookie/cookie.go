// Package cookie seals the proxy's browser sessions and sign-in attempts
// into encrypted, authenticated cookies: AES-256-GCM from the standard
// library, the cookie's name as additional data, a seal time inside. Keys
// come as a list so that they rotate without signing everyone out: the
// first key seals, every key opens.
package cookie

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

// KeySize is the length of one key: an AES-256 key.
const KeySize = 32

// keyHint says how to make a key.
const keyHint = "make one with: openssl rand -base64 32"

// ParseKeys reads keys, one per line, each the standard or URL base64 of
// KeySize random bytes. Blank lines and lines starting with # are skipped.
// The first key seals new cookies.
func ParseKeys(text string) ([][]byte, error) {
	var keys [][]byte
	sc := bufio.NewScanner(strings.NewReader(text))
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		var k []byte
		var err error
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if k, err = enc.DecodeString(s); err == nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("cookie key on line %d is not base64", line)
		}
		if len(k) != KeySize {
			return nil, fmt.Errorf("cookie key on line %d has %d bytes, want %d ("+keyHint+")", line, len(k), KeySize)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no cookie key given (" + keyHint + ")")
	}
	return keys, nil
}

// MaxLen bounds a sealed value: browsers keep cookies of up to 4096 bytes,
// name and attributes included.
const MaxLen = 3800

// Sealer seals and opens cookie values.
type Sealer struct {
	aeads  []cipher.AEAD
	maxAge time.Duration
	clock  clock.Clock
}

// NewSealer builds a sealer from keys (see ParseKeys). maxAge bounds the age
// of what it opens, counted from when it was sealed by clk's time.
func NewSealer(keys [][]byte, maxAge time.Duration, clk clock.Clock) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("no cookie key given (" + keyHint + ")")
	}
	if clk == nil {
		clk = clock.Real{}
	}
	s := &Sealer{maxAge: maxAge, clock: clk}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("cookie key %d has %d bytes, want %d", i+1, len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.aeads = append(s.aeads, aead)
	}
	return s, nil
}

// ErrTooLarge is returned when a sealed value would not fit in a cookie.
var ErrTooLarge = errors.New("the session does not fit in a cookie (4096 bytes); fewer or shorter claims are needed")

// envelope is what is encrypted: the seal time and the value.
type envelope struct {
	T int64           `json:"t"`
	V json.RawMessage `json:"v"`
}

// Seal encrypts and authenticates v (JSON-encoded) for the cookie name.
func (s *Sealer) Seal(name string, v any) (string, error) {
	inner, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("could not encode the cookie: %w", err)
	}
	plain, err := json.Marshal(envelope{T: s.clock.Now().Unix(), V: inner})
	if err != nil {
		return "", fmt.Errorf("could not encode the cookie: %w", err)
	}
	a := s.aeads[0]
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plain)+a.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := base64.RawURLEncoding.EncodeToString(a.Seal(nonce, nonce, plain, []byte(name)))
	if len(out) > MaxLen {
		return "", ErrTooLarge
	}
	return out, nil
}

// ErrInvalid is returned for a cookie that no key opens, that was sealed
// for another name, or that is older than the maximum age.
var ErrInvalid = errors.New("the cookie is not valid (another key, tampered with, or too old)")

// Open checks and decrypts a value sealed for name into v.
func (s *Sealer) Open(name, value string, v any) error {
	if len(value) > MaxLen {
		return ErrInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return ErrInvalid
	}
	for _, a := range s.aeads {
		if len(raw) < a.NonceSize()+a.Overhead() {
			return ErrInvalid
		}
		plain, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], []byte(name))
		if err != nil {
			continue
		}
		var e envelope
		if json.Unmarshal(plain, &e) != nil {
			return ErrInvalid
		}
		age := s.clock.Now().Sub(time.Unix(e.T, 0))
		if age > s.maxAge || age < -time.Minute || json.Unmarshal(e.V, v) != nil {
			return ErrInvalid
		}
		return nil
	}
	return ErrInvalid
}
