package credentials

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCredentialHookPrefersTheWarmFrontInstalledAlongside(t *testing.T) {
	for _, c := range []struct {
		name  string
		front func(path string) // makes what sits at the front's path
		want  string            // "front" or "exe"
	}{
		{"front installed", func(p string) { mustWrite(t, p) }, "front"},
		{"no front", func(string) {}, "exe"},
		{"a directory of that name", func(p string) {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "exe"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			exe := filepath.Join(dir, "dagster-oidc")
			mustWrite(t, exe)
			front := filepath.Join(dir, "dagster-oidc-cached")
			c.front(front)
			s := &Service{w: &wiring{deps: Deps{Stat: os.Stat}}}
			want := map[string]string{"front": front, "exe": exe}[c.want]
			if got := s.credentialHook(exe); got != want {
				t.Errorf("credentialHook = %s, want %s", got, want)
			}
		})
	}
}

func mustWrite(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}
