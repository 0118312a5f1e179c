package config

import (
	"strings"
	"testing"
)

// FuzzParse: any input gives a config or an error naming the file, never a
// panic; a parsed config always has a usable default profile choice.
func FuzzParse(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte("profiles:\n  dev:\n    issuer: https://x.example\n    client_id: c\n    refresh_margin: 5m\n"))
	f.Add([]byte("profiles: [\n"))
	f.Add([]byte("profiles:\n  a: ~\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(cfg.Profiles) == 0 {
			t.Fatal("a config without profiles was accepted")
		}
		for _, name := range cfg.ProfileNames() {
			if _, err := cfg.Profile(name); err != nil {
				t.Fatal(err)
			}
		}
	})
}
