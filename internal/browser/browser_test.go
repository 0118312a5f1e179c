package browser

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestHasDisplay(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the display variables decide on Linux only")
	}
	withXDG := t.TempDir()
	if err := os.WriteFile(filepath.Join(withXDG, "xdg-open"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want bool
	}{
		{name: "a display and xdg-open", env: map[string]string{"DISPLAY": ":0", "PATH": withXDG}, want: true},
		{name: "wayland", env: map[string]string{"WAYLAND_DISPLAY": "wayland-0", "PATH": withXDG}, want: true},
		{name: "over ssh", env: map[string]string{"DISPLAY": ":0", "PATH": withXDG, "SSH_CONNECTION": "10.0.0.1 22 10.0.0.2 5000"}},
		{name: "ssh tty", env: map[string]string{"DISPLAY": ":0", "PATH": withXDG, "SSH_TTY": "/dev/pts/1"}},
		{name: "no display", env: map[string]string{"PATH": withXDG}},
		{name: "no xdg-open", env: map[string]string{"DISPLAY": ":0", "PATH": t.TempDir()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"SSH_CONNECTION", "SSH_TTY", "DISPLAY", "WAYLAND_DISPLAY"} {
				t.Setenv(k, tt.env[k])
			}
			t.Setenv("PATH", tt.env["PATH"])
			if got := HasDisplay(); got != tt.want {
				t.Errorf("HasDisplay = %v, want %v", got, tt.want)
			}
		})
	}
}
