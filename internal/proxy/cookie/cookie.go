// Package cookie seals the proxy's browser sessions and sign-in attempts
// into encrypted, authenticated cookies (gorilla/securecookie: AES-256-CTR
// and HMAC-SHA256), with a list of keys so that keys rotate without signing
// everyone out: the first key seals, every key opens.
package cookie

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
)

// KeySize is the length of one key: 32 bytes of HMAC-SHA256 key followed by
// 32 bytes of AES-256 key.
const KeySize = 64

// ParseKeys reads keys, one per line, each the standard or URL base64 of
// KeySize random bytes (`openssl rand -base64 64 | tr -d '\n'`). Blank lines
// and lines starting with # are skipped. The first key seals new cookies.
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
			return nil, fmt.Errorf("cookie key on line %d has %d bytes, want %d (make one with: openssl rand -base64 64 | tr -d '\\n')", line, len(k), KeySize)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no cookie key given (make one with: openssl rand -base64 64 | tr -d '\\n')")
	}
	return keys, nil
}

// Sealer seals and opens cookie values.
type Sealer struct {
	codecs []securecookie.Codec
}

// NewSealer builds a sealer from keys (see ParseKeys). maxAge bounds the age
// of what it opens, counted from when it was sealed.
func NewSealer(keys [][]byte, maxAge time.Duration) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("no cookie key given")
	}
	s := &Sealer{}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("cookie key %d has %d bytes, want %d", i+1, len(k), KeySize)
		}
		c := securecookie.New(k[:32], k[32:])
		c.SetSerializer(securecookie.JSONEncoder{})
		c.MaxAge(int(maxAge / time.Second))
		s.codecs = append(s.codecs, c)
	}
	return s, nil
}

// ErrTooLarge is returned when a sealed value would not fit in a cookie.
var ErrTooLarge = errors.New("the session does not fit in a cookie (4096 bytes); fewer or shorter claims are needed")

// Seal encrypts and authenticates v (JSON-encoded) for the cookie name.
func (s *Sealer) Seal(name string, v any) (string, error) {
	out, err := s.codecs[0].(*securecookie.SecureCookie).Encode(name, v)
	if err != nil {
		// securecookie does not export this error; its text is stable.
		if strings.Contains(err.Error(), "value is too long") {
			return "", ErrTooLarge
		}
		return "", fmt.Errorf("could not seal the cookie: %w", err)
	}
	return out, nil
}

// ErrInvalid is returned for a cookie that no key opens, that was sealed
// for another name, or that is older than the maximum age.
var ErrInvalid = errors.New("the cookie is not valid (another key, tampered with, or too old)")

// Open checks and decrypts a value sealed for name into v.
func (s *Sealer) Open(name, value string, v any) error {
	if err := securecookie.DecodeMulti(name, value, v, s.codecs...); err != nil {
		return ErrInvalid
	}
	return nil
}
