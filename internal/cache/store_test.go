package cache

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// storeCases builds one fresh store of every kind that keeps values.
func storeCases(t *testing.T) []struct {
	name  string
	store Store
} {
	t.Helper()
	return []struct {
		name  string
		store Store
	}{
		{"memory", &MemoryStore{}},
		{"file", FileStore{Dir: t.TempDir() + "/cache"}},
		{"keyring", &KeyringStore{Backend: &fakeKeyring{items: map[[2]string]string{}, maxSize: 2560}, Service: "test"}},
	}
}

func TestStoresRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 20*1024/16)
	binary := []byte{0, 1, 2, 0xff, 0xfe, '\n', '"'}
	for _, sc := range storeCases(t) {
		t.Run(sc.name, func(t *testing.T) {
			s := sc.store
			if s.Name() != sc.name {
				t.Errorf("Name() = %q, want %q", s.Name(), sc.name)
			}
			if _, err := s.Get("absent"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get(absent) error = %v, want ErrNotFound", err)
			}
			for _, tc := range []struct {
				name  string
				key   string
				value []byte
			}{
				{"small", "token.dev.abc", []byte(`{"schema":1}`)},
				{"empty", "empty", []byte{}},
				{"binary", "bin", binary},
				{"20KB", "big", big},
				{"unsafe key", "../../etc/passwd with spaces/ÿ", []byte("x")},
			} {
				t.Run(tc.name, func(t *testing.T) {
					if err := s.Set(tc.key, tc.value); err != nil {
						t.Fatalf("Set: %v", err)
					}
					got, err := s.Get(tc.key)
					if err != nil {
						t.Fatalf("Get: %v", err)
					}
					if !bytes.Equal(got, tc.value) {
						t.Fatalf("Get = %d bytes, want %d bytes", len(got), len(tc.value))
					}
				})
			}
			// Overwrite, in both directions between small and chunked sizes.
			for _, v := range [][]byte{[]byte("v1"), big, []byte("v3"), append(big, 'x')} {
				if err := s.Set("k", v); err != nil {
					t.Fatalf("overwrite Set: %v", err)
				}
				got, err := s.Get("k")
				if err != nil || !bytes.Equal(got, v) {
					t.Fatalf("after overwrite Get = %d bytes, %v; want %d bytes", len(got), err, len(v))
				}
			}
			// Get returns a copy: changing it does not change the store.
			got, _ := s.Get("k")
			got[0] ^= 0xff
			again, _ := s.Get("k")
			if again[0] == got[0] {
				t.Error("Get returned the store's own buffer")
			}
			if err := s.Delete("k"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, err := s.Get("k"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get after Delete error = %v, want ErrNotFound", err)
			}
			if err := s.Delete("k"); err != nil {
				t.Errorf("Delete of absent key = %v, want nil", err)
			}
			// Clear removes the rest.
			if err := s.(Clearer).Clear(); err != nil {
				t.Fatalf("Clear: %v", err)
			}
			if _, err := s.Get("token.dev.abc"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get after Clear error = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestNoneStore(t *testing.T) {
	var s Store = NoneStore{}
	if s.Name() != "none" {
		t.Errorf("Name() = %q", s.Name())
	}
	if err := s.Set("k", []byte("v")); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if _, err := s.Get("k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get error = %v, want ErrNotFound", err)
	}
	if err := s.Delete("k"); err != nil {
		t.Errorf("Delete = %v", err)
	}
	if err := s.(Clearer).Clear(); err != nil {
		t.Errorf("Clear = %v", err)
	}
}

func TestMemoryStoreConcurrent(t *testing.T) {
	s := &MemoryStore{}
	done := make(chan struct{})
	for i := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			key := strings.Repeat("k", i+1)
			for j := range 100 {
				_ = s.Set(key, []byte{byte(j)})
				_, _ = s.Get(key)
			}
			_ = s.Delete(key)
		}()
	}
	for range 8 {
		<-done
	}
	if _, err := s.Get("k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get error = %v, want ErrNotFound", err)
	}
}
