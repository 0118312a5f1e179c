package cache

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// brokenKeyring fails every call like go-keyring without a session bus.
type brokenKeyring struct{ err error }

func (b brokenKeyring) Get(string, string) (string, error) { return "", b.err }
func (b brokenKeyring) Set(string, string, string) error   { return b.err }
func (b brokenKeyring) Delete(string, string) error        { return b.err }

// liarKeyring accepts writes but reads back something else.
type liarKeyring struct{ *fakeKeyring }

func (l liarKeyring) Get(string, string) (string, error) { return "other", nil }

var errNoBus = errors.New("dial unix /run/user/0/bus: connect: no such file or directory")

func TestProbe(t *testing.T) {
	hung := newFakeKeyring()
	hung.block = make(chan struct{})
	t.Cleanup(func() { close(hung.block) })
	for _, tc := range []struct {
		name    string
		kr      Keyring
		wantErr string
	}{
		{"working", newFakeKeyring(), ""},
		{"no bus", brokenKeyring{errNoBus}, "no such file or directory"},
		{"reads back other content", liarKeyring{newFakeKeyring()}, "different content"},
		{"hangs", hung, "keyring probe did not answer within 1ms"},
		{"nil", nil, "no keyring backend"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Only the hung keyring may meet the timeout: a loaded machine
			// must not turn a working fake into a timeout.
			timeout := time.Minute
			if tc.name == "hangs" {
				timeout = time.Millisecond
			}
			err := Probe(tc.kr, timeout)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Probe = %v", err)
				}
				if left := tc.kr.(*fakeKeyring).users(DefaultService); len(left) != 0 {
					t.Errorf("Probe left items %v", left)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Probe = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
	var te *TimeoutError
	if err := Probe(hung, time.Millisecond); !errors.As(err, &te) {
		t.Errorf("Probe on a hung keyring = %T, want *TimeoutError", err)
	}
}

func TestSelect(t *testing.T) {
	good := newFakeKeyring()
	bad := brokenKeyring{errNoBus}
	for _, tc := range []struct {
		name       string
		mode       string
		kr         Keyring
		dir        string
		wantStore  string
		wantReason string
		wantErr    string
	}{
		{"auto with a keyring", "auto", good, "/c", "keyring", "keyring available", ""},
		{"empty mode is auto", "", good, "/c", "keyring", "keyring available", ""},
		{"auto without a keyring", "auto", bad, "/c", "file",
			"keyring unavailable: dial unix /run/user/0/bus: connect: no such file or directory; using file store /c", ""},
		{"auto without keyring or dir", "auto", nil, "", "memory",
			"keyring unavailable: no keyring backend; no cache directory, using memory store", ""},
		{"keyring", "keyring", good, "", "keyring", "cache: keyring", ""},
		{"keyring without a keyring", "keyring", bad, "/c", "", "",
			"keyring unavailable (cache: keyring): dial unix"},
		{"file", "file", bad, "/c", "file", "cache: file (/c)", ""},
		{"file without dir", "file", nil, "", "", "", "cache: file needs a cache directory"},
		{"memory", "memory", bad, "", "memory", "cache: memory", ""},
		{"none", "none", bad, "", "none", "cache: none", ""},
		{"unknown", "disk", good, "/c", "", "", `unknown cache mode "disk" (want auto, keyring, file, memory or none)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, reason, err := Select(tc.mode, tc.kr, tc.dir, time.Second)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Select error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Select: %v", err)
			}
			if store.Name() != tc.wantStore || reason != tc.wantReason {
				t.Errorf("Select = %s, %q; want %s, %q", store.Name(), reason, tc.wantStore, tc.wantReason)
			}
			if ks, ok := store.(*KeyringStore); ok {
				if ks.Service != DefaultService || ks.ChunkSize != DefaultChunkSize || ks.Timeout != time.Second {
					t.Errorf("keyring store = %+v", ks)
				}
			}
			if fs, ok := store.(FileStore); ok && fs.Dir != tc.dir {
				t.Errorf("file store dir = %q, want %q", fs.Dir, tc.dir)
			}
		})
	}
}
