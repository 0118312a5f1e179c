package cache

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// windowsMax is Credential Manager's per-item limit (specs.md §6).
const windowsMax = 2560

func value(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

func TestKeyringStoreChunking(t *testing.T) {
	for _, tc := range []struct {
		name       string
		size       int
		chunkSize  int
		wantChunks int
	}{
		{"1 KB inline in the index", 1024, 0, 0},
		{"3 KB", 3 * 1024, 0, 3},    // 1500 raw bytes per 2000-byte item
		{"20 KB", 20 * 1024, 0, 14}, // ceil(20480/1500)
		{"exactly one chunk of raw bytes", 1500, 0, 1},
		{"chunk size above the backend limit halves until it fits", 20 * 1024, 4000, 14},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kr := newFakeKeyring()
			kr.maxSize = windowsMax
			s := &KeyringStore{Backend: kr, Service: "svc", ChunkSize: tc.chunkSize}
			v := value(tc.size)
			if err := s.Set("key", v); err != nil {
				t.Fatalf("Set: %v", err)
			}
			if got := len(kr.chunkUsers("svc", "key")); got != tc.wantChunks {
				t.Errorf("%d chunk items, want %d: %v", got, tc.wantChunks, kr.users("svc"))
			}
			for _, u := range kr.users("svc") {
				item, _ := kr.Get("svc", u)
				if len(item) > DefaultChunkSize {
					t.Errorf("item %s holds %d bytes, more than %d", u, len(item), DefaultChunkSize)
				}
			}
			got, err := s.Get("key")
			if err != nil || !bytes.Equal(got, v) {
				t.Fatalf("Get = %d bytes, %v; want %d bytes", len(got), err, len(v))
			}
			if err := s.Delete("key"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if left := kr.users("svc"); len(left) != 0 {
				t.Errorf("Delete left items %v", left)
			}
		})
	}
}

func TestKeyringStoreIndexFormat(t *testing.T) {
	kr := newFakeKeyring()
	s := &KeyringStore{Backend: kr, Service: "svc"}
	if err := s.Set("key", value(3*1024)); err != nil {
		t.Fatal(err)
	}
	index, _ := kr.Get("svc", "key")
	const want = `{"v":1,"gen":1,"chunks":3,"sha256":"`
	if !strings.HasPrefix(index, want) || !strings.HasSuffix(index, `","len":3072}`) {
		t.Errorf("index = %s, want %s...,\"len\":3072}", index, want)
	}
	if got, want := kr.chunkUsers("svc", "key"), []string{"key#0.g1", "key#1.g1", "key#2.g1"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("chunk items %v, want %v", got, want)
	}
	// Overwriting retires generation 1.
	if err := s.Set("key", value(2*1024)); err != nil {
		t.Fatal(err)
	}
	if got, want := kr.users("svc"), []string{"key", "key#0.g2", "key#1.g2"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("items after overwrite %v, want %v", got, want)
	}
	// A small value goes inline and retires the chunks too.
	if err := s.Set("key", []byte("small")); err != nil {
		t.Fatal(err)
	}
	if got := kr.users("svc"); fmt.Sprint(got) != "[key]" {
		t.Errorf("items after small overwrite %v, want [key]", got)
	}
}

func TestKeyringStoreCrashMidWriteKeepsOldValue(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new []byte
		// setsBeforeFailure counts the successful Sets of the failing write.
		setsBeforeFailure int
	}{
		{"chunked over chunked, dies after 2 of 14 chunks", value(3 * 1024), value(20 * 1024), 2},
		{"chunked over chunked, dies before the index", value(3 * 1024), value(20 * 1024), 14},
		{"chunked over inline, dies after 1 chunk", []byte("old"), value(20 * 1024), 1},
		{"inline over chunked, dies at the index", value(20 * 1024), []byte("new"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kr := newFakeKeyring()
			kr.maxSize = windowsMax
			s := &KeyringStore{Backend: kr, Service: "svc"}
			if err := s.Set("key", tc.old); err != nil {
				t.Fatal(err)
			}
			kr.dying, kr.setsLeft = true, tc.setsBeforeFailure
			err := s.Set("key", tc.new)
			if !errors.Is(err, errBackendDown) {
				t.Fatalf("Set error = %v, want the backend's error", err)
			}
			got, err := s.Get("key")
			if err != nil || !bytes.Equal(got, tc.old) {
				t.Fatalf("after a failed write Get = %d bytes, %v; want the old %d bytes", len(got), err, len(tc.old))
			}
			// The backend recovers: the next write wins and Delete removes
			// the old generation, the new one and the crashed one.
			kr.dying = false
			if err := s.Set("key", tc.new); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Get("key"); err != nil || !bytes.Equal(got, tc.new) {
				t.Fatalf("after recovery Get = %d bytes, %v", len(got), err)
			}
			if err := s.Delete("key"); err != nil {
				t.Fatal(err)
			}
			if left := kr.users("svc"); len(left) != 0 {
				t.Errorf("Delete left items %v", left)
			}
		})
	}
}

func TestKeyringStoreDeleteFindsOrphansOfCrashedWrite(t *testing.T) {
	kr := newFakeKeyring()
	s := &KeyringStore{Backend: kr, Service: "svc"}
	if err := s.Set("key", value(3*1024)); err != nil {
		t.Fatal(err)
	}
	kr.dying, kr.setsLeft = true, 5 // 5 of 14 chunks of generation 2, no index
	if err := s.Set("key", value(20*1024)); err == nil {
		t.Fatal("Set succeeded, want the backend's error")
	}
	if n := len(kr.chunkUsers("svc", "key")); n != 3+5 {
		t.Fatalf("%d chunk items before Delete, want 8", n)
	}
	if err := s.Delete("key"); err != nil {
		t.Fatal(err)
	}
	if left := kr.users("svc"); len(left) != 0 {
		t.Errorf("Delete left items %v", left)
	}
}

func TestKeyringStoreCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(kr *fakeKeyring)
		reason string
	}{
		{"chunk replaced by other valid base64", func(kr *fakeKeyring) {
			kr.put("svc", "key#1.g1", base64.StdEncoding.EncodeToString(value(1500)[1:]))
		}, "length"},
		{"chunk with same length, other bytes", func(kr *fakeKeyring) {
			b := value(1500)
			b[0] = 'Z'
			kr.put("svc", "key#1.g1", base64.StdEncoding.EncodeToString(b))
		}, "sha256 mismatch"},
		{"chunk not base64", func(kr *fakeKeyring) { kr.put("svc", "key#0.g1", "%%%") }, "not base64"},
		{"chunk missing", func(kr *fakeKeyring) { _ = kr.Delete("svc", "key#2.g1") }, "chunk 2 of 3 is missing"},
		{"index not JSON", func(kr *fakeKeyring) { kr.put("svc", "key", "hunter2") }, "unreadable frame"},
		{"index from a future version", func(kr *fakeKeyring) {
			kr.put("svc", "key", `{"v":2,"chunks":3,"sha256":"`+strings.Repeat("0", 64)+`","len":3072}`)
		}, "unsupported frame version 2"},
		{"index checksum wrong", func(kr *fakeKeyring) {
			idx, _ := kr.Get("svc", "key")
			kr.put("svc", "key", flipSHA(idx))
		}, "sha256 mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kr := newFakeKeyring()
			s := &KeyringStore{Backend: kr, Service: "svc"}
			if err := s.Set("key", value(3*1024)); err != nil {
				t.Fatal(err)
			}
			tc.tamper(kr)
			_, err := s.Get("key")
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Get error = %v, want ErrCorrupt saying %q", err, tc.reason)
			}
			// A corrupt entry can still be overwritten and deleted.
			if err := s.Set("key", []byte("fresh")); err != nil {
				t.Fatalf("Set over a corrupt entry: %v", err)
			}
			if got, err := s.Get("key"); err != nil || string(got) != "fresh" {
				t.Fatalf("Get = %q, %v", got, err)
			}
			if err := s.Delete("key"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
		})
	}
}

// A reader that loses the race with a writer retiring its generation
// re-reads the index instead of reporting corruption.
func TestKeyringStoreReaderRetriesAfterConcurrentWrite(t *testing.T) {
	kr := newFakeKeyring()
	s := &KeyringStore{Backend: kr, Service: "svc"}
	if err := s.Set("key", value(3*1024)); err != nil {
		t.Fatal(err)
	}
	newer := bytes.ToUpper(value(3 * 1024))
	writer := &KeyringStore{Backend: kr, Service: "svc"}
	raced := false
	kr.onGet = func(user string) {
		if user == "key#0.g1" && !raced {
			raced = true
			if err := writer.Set("key", newer); err != nil {
				t.Errorf("concurrent Set: %v", err)
			}
		}
	}
	got, err := s.Get("key")
	if err != nil || !bytes.Equal(got, newer) {
		t.Fatalf("Get = %.20q…, %v; want the newer value", got, err)
	}
}

func TestKeyringStoreTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   string
		call func(s *KeyringStore) error
	}{
		{"get", "get", func(s *KeyringStore) error { _, err := s.Get("key"); return err }},
		{"set", "set", func(s *KeyringStore) error { return s.Set("key", value(3*1024)) }},
		{"delete", "delete", func(s *KeyringStore) error { return s.Delete("key") }},
		{"set blocked at its first read", "get", func(s *KeyringStore) error { return s.Set("key", []byte("v")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kr := newFakeKeyring()
			if err := (&KeyringStore{Backend: kr, Service: "svc"}).Set("key", []byte("old")); err != nil {
				t.Fatal(err)
			}
			// Only blocked calls can time out: the others return at once.
			s := &KeyringStore{Backend: kr, Service: "svc", Timeout: 50 * time.Millisecond}
			kr.block, kr.blockOp = make(chan struct{}), tc.op
			t.Cleanup(func() { close(kr.block) })
			err := tc.call(s)
			var te *TimeoutError
			if !errors.As(err, &te) || te.Op != tc.op || te.Timeout != 50*time.Millisecond {
				t.Fatalf("error = %v, want *TimeoutError for %s", err, tc.op)
			}
			if want := "keyring " + tc.op + " did not answer within 50ms"; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		})
	}
}

func TestKeyringStoreErrors(t *testing.T) {
	t.Run("backend too small even for the index", func(t *testing.T) {
		kr := newFakeKeyring()
		kr.maxSize = 100
		err := (&KeyringStore{Backend: kr, Service: "svc"}).Set("key", value(3*1024))
		if !errors.Is(err, ErrTooBig) || !strings.Contains(err.Error(), "could not write keyring chunk 0 of") {
			t.Fatalf("Set error = %v, want ErrTooBig at the first chunk", err)
		}
		if left := kr.users("svc"); len(left) != 0 {
			t.Errorf("a failed first write left items %v", left)
		}
	})
	t.Run("service defaults to dagster-oidc", func(t *testing.T) {
		kr := newFakeKeyring()
		if err := (&KeyringStore{Backend: kr}).Set("key", []byte("v")); err != nil {
			t.Fatal(err)
		}
		if got := kr.users(DefaultService); fmt.Sprint(got) != "[key]" {
			t.Errorf("items under %s = %v", DefaultService, got)
		}
	})
	t.Run("clear needs DeleteAll", func(t *testing.T) {
		s := &KeyringStore{Backend: struct{ Keyring }{newFakeKeyring()}}
		if err := s.Clear(); err == nil {
			t.Error("Clear succeeded on a backend without DeleteAll")
		}
	})
	t.Run("errors carry no secret", func(t *testing.T) {
		kr := newFakeKeyring()
		s := &KeyringStore{Backend: kr, Service: "svc"}
		secret := "eyJhbGciOiJSUzI1NiJ9.secret-token-body"
		if err := s.Set("key", []byte(secret)); err != nil {
			t.Fatal(err)
		}
		idx, _ := kr.Get("svc", "key")
		kr.put("svc", "key", idx[:len(idx)-5])
		_, err := s.Get("key")
		if err == nil || strings.Contains(err.Error(), "secret-token") || strings.Contains(err.Error(), "eyJ") {
			t.Errorf("error = %v; want an error without the value", err)
		}
	})
}
