package awsconfig

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goldenfile "github.com/dagster-oidc/dagster-oidc/internal/testutil/golden"
)

var devSettings = map[string]string{
	"credential_process": "/usr/local/bin/dagster-oidc aws credential-process --profile dev",
	"region":             "eu-west-1",
}

func TestUpsertProfileGolden(t *testing.T) {
	tests := []struct {
		name        string // testdata/NAME.before (absent: no file) and NAME.after
		profile     string
		settings    map[string]string
		wantChanged bool
	}{
		{"absent_file", "dev", devSettings, true},
		{"empty_file", "dev", devSettings, true},
		{"comments_other_profiles", "dev", devSettings, true},
		{"present_with_other_keys", "dev", devSettings, true},
		{"already_current", "dev", devSettings, false},
		{"crlf", "dev", devSettings, true},
		{"header_at_eof_no_newline", "dev", devSettings, true},
		{"append_no_newline", "dev", devSettings, true},
		{"default_profile", "default", devSettings, true},
		{"empty_value_left_alone", "dev", map[string]string{"region": "", "credential_process": "new"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config")
			before, err := os.ReadFile(filepath.Join("testdata", tt.name+".before"))
			switch {
			case err == nil:
				if err := os.WriteFile(path, before, 0o644); err != nil {
					t.Fatal(err)
				}
			case tt.name == "empty_file":
				if err := os.WriteFile(path, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			case tt.name != "absent_file":
				t.Fatal(err)
			}
			changed, err := UpsertProfile(path, tt.profile, tt.settings)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name+".after", got)

			// A second run is a no-op.
			changed, err = UpsertProfile(path, tt.profile, tt.settings)
			if err != nil || changed {
				t.Errorf("second run: changed = %v, err = %v; want false, nil", changed, err)
			}
			again, _ := os.ReadFile(path)
			if string(again) != string(got) {
				t.Error("second run changed the file")
			}
		})
	}
}

func TestUpsertProfileEmptyValueSeedsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	changed, err := UpsertProfile(path, "dev", map[string]string{"region": ""})
	if err != nil || changed {
		t.Fatalf("changed = %v, err = %v; want false, nil", changed, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file was created: %v", err)
	}
}

func TestUpsertProfileModes(t *testing.T) {
	t.Run("new file and directory are private", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), ".aws")
		path := filepath.Join(dir, "config")
		if _, err := UpsertProfile(path, "dev", devSettings); err != nil {
			t.Fatal(err)
		}
		assertMode(t, dir, 0o700|fs.ModeDir)
		assertMode(t, path, 0o600)
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("directory holds %d entries, want only config (no temp file left)", len(entries))
		}
	})
	t.Run("existing mode kept", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config")
		if err := os.WriteFile(path, []byte("[default]\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o640); err != nil {
			t.Fatal(err)
		}
		if _, err := UpsertProfile(path, "dev", devSettings); err != nil {
			t.Fatal(err)
		}
		assertMode(t, path, 0o640)
	})
	t.Run("symlink kept, target updated", func(t *testing.T) {
		dir := t.TempDir()
		real := filepath.Join(dir, "dotfiles-aws-config")
		link := filepath.Join(dir, "config")
		if err := os.WriteFile(real, []byte("[default]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(real, link); err != nil {
			t.Fatal(err)
		}
		if _, err := UpsertProfile(link, "dev", devSettings); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Fatalf("link replaced: %v %v", fi, err)
		}
		b, _ := os.ReadFile(real)
		if !strings.Contains(string(b), "[profile dev]") {
			t.Errorf("target not updated:\n%s", b)
		}
	})
}

func TestUpsertProfileRejects(t *testing.T) {
	tests := []struct {
		name     string
		profile  string
		settings map[string]string
		wantErr  string
	}{
		{"empty profile", "", devSettings, "profile name"},
		{"profile with space", "my dev", devSettings, "profile name"},
		{"profile with bracket", "dev]", devSettings, "profile name"},
		{"key with equals", "dev", map[string]string{"a=b": "x"}, "setting name"},
		{"value with newline", "dev", map[string]string{"region": "eu\n[profile evil]"}, "line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config")
			_, err := UpsertProfile(path, tt.profile, tt.settings)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Error("file written despite the error")
			}
		})
	}
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (fs.ModePerm | fs.ModeDir); got != want {
		t.Errorf("%s mode = %v, want %v", path, got, want)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
}
