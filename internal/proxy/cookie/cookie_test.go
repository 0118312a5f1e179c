package cookie

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dagster-oidc/dagster-oidc/internal/clock"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

type payload struct {
	Sub string `json:"s"`
}

func TestSealOpenAndRotate(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clk := clock.Func(func() time.Time { return now })
	old, err := NewSealer([][]byte{key(1)}, time.Hour, clk)
	if err != nil {
		t.Fatal(err)
	}
	v, err := old.Seal("session", payload{Sub: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(v, "alice") {
		t.Fatal("the sealed value shows its content")
	}
	rotated, _ := NewSealer([][]byte{key(2), key(1)}, time.Hour, clk)
	var got payload
	if err := rotated.Open("session", v, &got); err != nil || got.Sub != "alice" {
		t.Fatalf("a rotated key list opens the old cookie: %v %+v", err, got)
	}
	other, _ := NewSealer([][]byte{key(3)}, time.Hour, clk)
	if err := other.Open("session", v, &got); !errors.Is(err, ErrInvalid) {
		t.Errorf("another key: err = %v, want ErrInvalid", err)
	}
	if err := old.Open("signin", v, &got); !errors.Is(err, ErrInvalid) {
		t.Errorf("another cookie name: err = %v, want ErrInvalid", err)
	}
	tampered := []byte(v)
	tampered[len(tampered)/2] ^= 1
	if err := old.Open("session", string(tampered), &got); !errors.Is(err, ErrInvalid) {
		t.Errorf("tampered: err = %v, want ErrInvalid", err)
	}
	if _, err := old.Seal("session", payload{Sub: strings.Repeat("x", 5000)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: err = %v, want ErrTooLarge", err)
	}
	if v2, _ := old.Seal("session", payload{Sub: "alice"}); v2 == v {
		t.Error("two seals of the same value are equal: the nonce is not fresh")
	}
	now = now.Add(time.Hour + time.Second)
	if err := old.Open("session", v, &got); !errors.Is(err, ErrInvalid) {
		t.Errorf("older than the maximum age: err = %v, want ErrInvalid", err)
	}
}

func TestParseKeys(t *testing.T) {
	a := base64.StdEncoding.EncodeToString(key(1))
	b := base64.RawURLEncoding.EncodeToString(key(2))
	keys, err := ParseKeys("# current first\n" + a + "\n\n" + b + "\n")
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[0], key(1)) || !bytes.Equal(keys[1], key(2)) {
		t.Fatalf("ParseKeys = %d keys, %v", len(keys), err)
	}
	for text, want := range map[string]string{
		"":            "no cookie key given",
		"not base64!": "cookie key on line 1 is not base64",
		"# c\n" + base64.StdEncoding.EncodeToString([]byte("short")): "cookie key on line 2 has 5 bytes, want 32",
	} {
		if _, err := ParseKeys(text); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("ParseKeys(%q) error = %v, want %q", text, err, want)
		}
	}
}
