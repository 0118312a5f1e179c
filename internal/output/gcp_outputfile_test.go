package output

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWriteGCPOutputFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "dagster-oidc")
	path := filepath.Join(dir, "gcp-subject.json")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// A stale world-readable file is replaced, not rewritten in place.
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := GCPExecutableResult{IDToken: "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln", Expiry: gcpTestExpiry}
	if err := WriteGCPOutputFile(path, r); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	gcpGolden(t, "gcp_output_file.golden", data)
	gcpAssertMode(t, path, 0o600)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the output file", len(entries))
	}
}

func TestWriteGCPOutputFileCreatesPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	path := filepath.Join(dir, "out.json")
	if err := WriteGCPOutputFile(path, GCPExecutableResult{IDToken: "h.p.s", Expiry: gcpTestExpiry}); err != nil {
		t.Fatal(err)
	}
	gcpAssertMode(t, dir, 0o700)
	gcpAssertMode(t, path, 0o600)
	if err := WriteGCPOutputFile(path, GCPExecutableResult{IDToken: "h.p.s"}); err == nil {
		t.Error("writing a result without expiry succeeded")
	}
}

func gcpAssertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %o, want %o", path, got, want)
	}
}

func TestReadGCPOutputFile(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	exp := now.Add(10 * time.Minute)
	valid := `{"version":1,"success":true,"token_type":"urn:ietf:params:oauth:token-type:id_token","id_token":"h.p.s","expiration_time":` +
		strconv.FormatInt(exp.Unix(), 10) + `}`
	tests := []struct {
		name       string
		content    *string // nil: no file
		min        time.Duration
		want       *GCPExecutableResult
		wantUsable bool
		wantErr    string
	}{
		{name: "missing file", content: nil},
		{name: "empty file", content: gcpPtr(" \n")},
		{name: "valid", content: gcpPtr(valid), min: 5 * time.Minute,
			want: &GCPExecutableResult{IDToken: "h.p.s", Expiry: exp, TokenType: GCPTokenTypeIDToken}, wantUsable: true},
		{name: "exactly the minimum left", content: gcpPtr(valid), min: 10 * time.Minute,
			want: &GCPExecutableResult{IDToken: "h.p.s", Expiry: exp, TokenType: GCPTokenTypeIDToken}, wantUsable: true},
		{name: "too little left", content: gcpPtr(valid), min: 11 * time.Minute,
			want: &GCPExecutableResult{IDToken: "h.p.s", Expiry: exp, TokenType: GCPTokenTypeIDToken}},
		{name: "expired", content: gcpPtr(strings.Replace(valid, strconv.FormatInt(exp.Unix(), 10), strconv.FormatInt(now.Add(-time.Second).Unix(), 10), 1)),
			want: &GCPExecutableResult{IDToken: "h.p.s", Expiry: now.Add(-time.Second), TokenType: GCPTokenTypeIDToken}},
		{name: "unsuccessful entry", content: gcpPtr(`{"version":1,"success":false,"code":"401","message":"no"}`)},
		{name: "not json", content: gcpPtr("garbage"), wantErr: "could not parse the gcp output file"},
		{name: "no expiration_time", content: gcpPtr(`{"version":1,"success":true,"token_type":"urn:ietf:params:oauth:token-type:jwt","id_token":"h.p.s"}`),
			wantErr: "has no expiration_time"},
		{name: "version 2", content: gcpPtr(strings.Replace(valid, `"version":1`, `"version":2`, 1)), wantErr: "has version 2, want 1"},
		{name: "no success", content: gcpPtr(strings.Replace(valid, `"success":true,`, ``, 1)), wantErr: "has no success field"},
		{name: "no id_token", content: gcpPtr(strings.Replace(valid, `"id_token":"h.p.s",`, ``, 1)), wantErr: "has no id_token"},
		{name: "saml", content: gcpPtr(strings.Replace(valid, `token-type:id_token`, `token-type:saml2`, 1)), wantErr: "unsupported token type"},
		{name: "over 1 MiB", content: gcpPtr(strings.Repeat(" ", 1<<20+1)), wantErr: "exceeds 1048576 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.json")
			if tc.content != nil {
				if err := os.WriteFile(path, []byte(*tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, usable, err := ReadGCPOutputFile(path, now, tc.min)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if usable != tc.wantUsable {
				t.Errorf("usable = %v, want %v", usable, tc.wantUsable)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGCPOutputFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.json")
	in := GCPExecutableResult{IDToken: "h.p.s", Expiry: gcpTestExpiry, TokenType: GCPTokenTypeJWT}
	if err := WriteGCPOutputFile(path, in); err != nil {
		t.Fatal(err)
	}
	got, usable, err := ReadGCPOutputFile(path, gcpTestExpiry.Add(-time.Hour), 5*time.Minute)
	if err != nil || !usable {
		t.Fatalf("ReadGCPOutputFile = %v, %v, want usable", usable, err)
	}
	if diff := cmp.Diff(&in, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func gcpPtr(s string) *string { return &s }
