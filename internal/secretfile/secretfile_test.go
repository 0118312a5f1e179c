//go:build unix

package secretfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAlso_ClientSecretFileReadableByOthersRefused (issue 15, "Also").
func TestAlso_ClientSecretFileReadableByOthersRefused(t *testing.T) {
	tests := []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o600, true}, {0o400, true}, {0o640, false}, {0o604, false}, {0o644, false},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "secret")
			if err := os.WriteFile(p, []byte("  s3cret\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tt.mode); err != nil {
				t.Fatal(err)
			}
			got, _, err := Read(p)
			if tt.ok {
				if err != nil || got != "s3cret" {
					t.Fatalf("Read = %q, %v", got, err)
				}
				return
			}
			if !errors.Is(err, ErrReadableByOthers) || !strings.Contains(err.Error(), "chmod 600 "+p) || got != "" {
				t.Fatalf("Read = %q, %v; want ErrReadableByOthers naming the fix", got, err)
			}
		})
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		age    time.Duration
		maxAge time.Duration
		want   string
	}{
		{5 * time.Hour, 90 * 24 * time.Hour, "5 hours old"},
		{12 * 24 * time.Hour, 90 * 24 * time.Hour, "12 days old"},
		{100 * 24 * time.Hour, 90 * 24 * time.Hour, "100 days old, older than client_secret_max_age 2160h0m0s: rotate it"},
		{100 * 24 * time.Hour, 0, "100 days old"},
	}
	for _, tt := range tests {
		i := Info{ModTime: now.Add(-tt.age)}
		if got := i.Describe(now, tt.maxAge); got != tt.want {
			t.Errorf("Describe(age %s, max %s) = %q, want %q", tt.age, tt.maxAge, got, tt.want)
		}
	}
}
