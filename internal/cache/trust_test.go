//go:build unix

package cache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/testutil/otheruser"
)

// TestFinding1_ForeignOwnedCacheRefused is issue 15.1 as reproduced: a
// second user pre-creates the victim's cache directory in a shared
// directory and plants an AWS credentials entry. The victim must refuse to
// read it, to write into it and to lock in it, naming the directory.
func TestFinding1_ForeignOwnedCacheRefused(t *testing.T) {
	shared := otheruser.SharedDir(t)
	const key = "aws.dev.0123abcd"
	frame := filepath.Join(shared, "frame")
	scratch := FileStore{Dir: t.TempDir()}
	if err := scratch.Set(key, []byte(`{"schema":1,"kind":"aws","data":{"access_key_id":"AKIAPLANTED"}}`)); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(scratch.path(key))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(frame, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(shared, "cache")
	s := FileStore{Dir: victim}
	otheruser.Run(t, `mkdir -m 755 "$1" && cp "$2" "$1/$3" && chmod 644 "$1/$3"`, victim, frame, filepath.Base(s.path(key)))

	got, err := s.Get(key)
	assertUntrusted(t, "Get", err, victim, "owned by uid 65534")
	if got != nil {
		t.Errorf("Get returned the planted entry %q", got)
	}
	assertUntrusted(t, "Set", s.Set(key, []byte("mine")), victim, "owned by uid 65534")
	_, err = Lock(context.Background(), victim, key, 0)
	assertUntrusted(t, "Lock", err, victim, "owned by uid 65534")
}

func assertUntrusted(t *testing.T, op string, err error, path, reason string) {
	t.Helper()
	if !errors.Is(err, ErrUntrusted) {
		t.Fatalf("%s error = %v, want ErrUntrusted", op, err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "refusing cache path "+path+":") || !strings.Contains(msg, reason) || strings.Contains(msg, "\n") {
		t.Errorf("%s error %q: want one line naming %s and saying %q", op, msg, path, reason)
	}
}

// TestFinding1_UntrustedCachePaths covers every rule of CheckDir and
// ReadTrusted, with the accepted layouts next to the refused ones.
func TestFinding1_UntrustedCachePaths(t *testing.T) {
	const key = "token.dev.0123abcd"
	tests := []struct {
		name   string
		root   bool // needs a second user
		layout func(t *testing.T, base string) (dir string, refused string)
		reason string // "" means accepted
	}{
		{"private directory", false, func(t *testing.T, base string) (string, string) {
			return filepath.Join(base, "cache"), ""
		}, ""},
		{"world-writable sticky parent, like /tmp", false, func(t *testing.T, base string) (string, string) {
			p := filepath.Join(base, "tmp")
			mkdir(t, p, os.ModeSticky|0o777)
			return filepath.Join(p, "cache"), ""
		}, ""},
		{"own symbolic link to own directory", false, func(t *testing.T, base string) (string, string) {
			real := filepath.Join(base, "real")
			link := filepath.Join(base, "link")
			symlink(t, real, link)
			return link, ""
		}, ""},
		{"directory writable by group", false, func(t *testing.T, base string) (string, string) {
			d := filepath.Join(base, "cache")
			return d, d
		}, "writable by group or others (mode 0770)"},
		{"entry writable by others", false, func(t *testing.T, base string) (string, string) {
			d := filepath.Join(base, "cache")
			return d, FileStore{Dir: d}.path(key)
		}, "writable by group or others (mode 0602)"},
		{"entry is a symbolic link", false, func(t *testing.T, base string) (string, string) {
			d := filepath.Join(base, "cache")
			return d, FileStore{Dir: d}.path(key)
		}, "a symbolic link, not a file"},
		{"parent writable by others without the sticky bit", false, func(t *testing.T, base string) (string, string) {
			p := filepath.Join(base, "open")
			return filepath.Join(p, "cache"), p
		}, "without the sticky bit (mode 0777)"},
		{"entry owned by another user", true, func(t *testing.T, base string) (string, string) {
			d := filepath.Join(base, "cache")
			return d, FileStore{Dir: d}.path(key)
		}, "owned by uid 65534, not by you (uid 0)"},
		{"parent owned by another user", true, func(t *testing.T, base string) (string, string) {
			p := filepath.Join(base, "theirs")
			return filepath.Join(p, "cache"), p
		}, "a parent directory owned by uid 65534"},
		{"symbolic link owned by another user", true, func(t *testing.T, base string) (string, string) {
			real := filepath.Join(base, "real")
			link := filepath.Join(base, "link")
			symlink(t, real, link)
			return link, link
		}, "a symbolic link owned by uid 65534"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root {
				otheruser.Require(t)
			}
			base := t.TempDir()
			dir, refused := tt.layout(t, base)
			s := FileStore{Dir: dir}
			// Written while the layout is still trusted, then spoiled.
			if err := s.Set(key, []byte("value")); err != nil {
				t.Fatalf("Set: %v", err)
			}
			spoil(t, tt.name, s, key, refused)
			got, err := s.Get(key)
			if tt.reason == "" {
				if err != nil || string(got) != "value" {
					t.Fatalf("Get = %q, %v; want the entry", got, err)
				}
				return
			}
			assertUntrusted(t, "Get", err, refused, tt.reason)
		})
	}
}

// spoil applies the unsafe change a test case is named after to an entry
// that was written safely.
func spoil(t *testing.T, name string, s FileStore, key, refused string) {
	t.Helper()
	p := s.path(key)
	var err error
	switch name {
	case "directory writable by group":
		err = os.Chmod(s.Dir, 0o770)
	case "entry writable by others":
		err = os.Chmod(p, 0o602)
	case "entry is a symbolic link":
		other := filepath.Join(s.Dir, "elsewhere")
		if err = os.Rename(p, other); err == nil {
			err = os.Symlink(other, p)
		}
	case "parent writable by others without the sticky bit":
		err = os.Chmod(refused, 0o777)
	case "entry owned by another user", "parent owned by another user", "symbolic link owned by another user":
		otheruser.Chown(t, refused)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	mkdir(t, target, 0o700)
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
