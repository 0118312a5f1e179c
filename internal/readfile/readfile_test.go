//go:build unix

package readfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestRegular(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		max        int64
		want       string
		wantErr    string
	}{
		{name: "regular", path: file, max: 5, want: "hello"},
		{name: "too large", path: file, max: 4, wantErr: "file is larger than the limit"},
		{name: "named pipe", path: fifo, max: 5, wantErr: "is not a regular file (it is a named pipe)"},
		{name: "link to a named pipe", path: link, max: 5, wantErr: "is not a regular file (it is a named pipe)"},
		{name: "directory", path: dir, max: 5, wantErr: "is not a regular file (it is a directory)"},
		{name: "device", path: os.DevNull, max: 5, wantErr: "is not a regular file (it is a device)"},
		{name: "missing", path: filepath.Join(dir, "none"), max: 5, wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Regular(tt.path, tt.max)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				var nr *NotRegularError
				if strings.Contains(tt.wantErr, "regular") && !errors.As(err, &nr) {
					t.Errorf("err is %T, want *NotRegularError", err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("Regular = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
