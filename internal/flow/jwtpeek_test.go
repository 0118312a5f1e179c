package flow

import (
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func TestPeekClaims(t *testing.T) {
	raw := wlValid(t, "system:serviceaccount:dagster:run-worker", "sts.amazonaws.com")
	claims, exp, err := PeekClaims(raw + "\n")
	if err != nil {
		t.Fatalf("PeekClaims: %v", err)
	}
	if got := claims["sub"]; got != "system:serviceaccount:dagster:run-worker" {
		t.Errorf("sub = %v", got)
	}
	if want := wlNow.Add(time.Hour); !exp.Equal(want) {
		t.Errorf("exp = %s, want %s", exp, want)
	}

	noExp := wlMint(t, map[string]any{"sub": "x"})
	if _, exp, err := PeekClaims(noExp); err != nil || !exp.IsZero() {
		t.Errorf("without exp: exp = %s, err = %v; want zero time and no error", exp, err)
	}
}

func TestPeekClaimsRejects(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	// A token with a valid signature over a payload that is not a claims set.
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: wlSigningKey(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := sig.Sign([]byte("secret-payload-not-json"))
	if err != nil {
		t.Fatal(err)
	}
	notClaims, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	fixture, err := os.ReadFile("testdata/workload/not-a-jwt.txt")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		raw  string
	}{
		{"empty", "  \n"},
		{"opaque secret", "ghs_secretOpaqueAccessToken1234567890"},
		{"fixture", string(fixture)},
		{"bad base64", "a.b.c"},
		{"alg none", b64([]byte(`{"alg":"none"}`)) + "." + b64([]byte(`{"sub":"secret-sub"}`)) + "."},
		{"symmetric alg", b64([]byte(`{"alg":"HS256"}`)) + "." + b64([]byte(`{"sub":"secret-sub"}`)) + ".c2ln"},
		{"five parts (JWE)", "secret.b.c.d.e"},
		{"payload not JSON", notClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := PeekClaims(tt.raw)
			if !errors.Is(err, ErrNotJWT) {
				t.Fatalf("err = %v, want ErrNotJWT", err)
			}
			for _, part := range strings.Split(strings.TrimSpace(tt.raw), ".") {
				if len(part) > 3 && strings.Contains(err.Error(), part) {
					t.Errorf("error %q echoes the input", err)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q echoes the input", err)
			}
		})
	}
}
