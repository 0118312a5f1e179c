package flow

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wlWriteFile writes data to a 0600 file.
func wlWriteFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFileSourcesReadToken(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		source  string
		file    string // under dir
		aud     string
		env     func(path string) map[string]string
		optPath bool
	}{
		{name: "kubernetes projected token", source: SourceKubernetes, file: "token", aud: "dagster-oidc", optPath: true},
		{name: "eks irsa", source: SourceWebIdentityFile, file: "eks-token", aud: "sts.amazonaws.com",
			env: func(p string) map[string]string {
				return map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": p, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/r"}
			}},
		{name: "eks irsa with a configured path", source: SourceWebIdentityFile, file: "eks-token-2", aud: "sts.amazonaws.com", optPath: true},
		{name: "azure workload identity", source: SourceAzureFile, file: "azure-identity-token", aud: "api://AzureADTokenExchange",
			env: func(p string) map[string]string {
				return map[string]string{"AZURE_FEDERATED_TOKEN_FILE": p, "AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": "t"}
			}},
		{name: "any file", source: SourceFile, file: "oidc-token", optPath: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			raw := wlValid(t, "sub-"+tt.file, tt.aud)
			wlWriteFile(t, path, raw+"\n") // files usually end with a newline
			var vars map[string]string
			if tt.env != nil {
				vars = tt.env(path)
			}
			o := wlOptions(t, vars)
			o.Audience = tt.aud
			if tt.optPath {
				o.Path = path
			}
			src, err := NewWorkloadSource(tt.source, o)
			if err != nil {
				t.Fatalf("NewWorkloadSource: %v", err)
			}
			if src.Name() != tt.source {
				t.Errorf("Name() = %q", src.Name())
			}
			tok, err := src.Token(context.Background())
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			want := Token{IDToken: raw, Expiry: wlNow.Add(time.Hour), Source: tt.source}
			if tok.IDToken != want.IDToken || !tok.Expiry.Equal(want.Expiry) || tok.Source != want.Source || tok.RefreshToken != "" {
				t.Errorf("Token = %+v, want %+v", *tok, want)
			}
		})
	}
}

func TestKubernetesDefaultPath(t *testing.T) {
	raw := wlValid(t, "system:serviceaccount:ns:sa", "https://kubernetes.default.svc")
	var read []string
	o := wlOptions(t, nil)
	o.ReadFile = func(p string) ([]byte, error) {
		read = append(read, p)
		return []byte(raw), nil
	}
	src, err := NewWorkloadSource(SourceKubernetes, o)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := src.Token(context.Background()); err != nil {
			t.Fatalf("Token: %v", err)
		}
	}
	want := []string{DefaultKubernetesTokenPath, DefaultKubernetesTokenPath}
	if strings.Join(read, ",") != strings.Join(want, ",") {
		t.Errorf("read %q, want %q (one read per call)", read, want)
	}
}

// TestKubernetesTokenRotation lays the volume out as the kubelet's AtomicWriter
// does (token -> ..data/token, ..data -> ..<timestamp>) and rotates the token
// by renaming a new ..data symlink over the old one.
func TestKubernetesTokenRotation(t *testing.T) {
	vol := t.TempDir()
	writeGeneration := func(name, raw string) {
		t.Helper()
		if err := os.Mkdir(filepath.Join(vol, name), 0o700); err != nil {
			t.Fatal(err)
		}
		wlWriteFile(t, filepath.Join(vol, name, "token"), raw)
		if err := os.Symlink(name, filepath.Join(vol, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(vol, "..data_tmp"), filepath.Join(vol, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	first := wlValid(t, "generation-1", "dagster-oidc")
	second := wlValid(t, "generation-2", "dagster-oidc")
	writeGeneration("..2026_03_01_11_00_00.1", first)
	if err := os.Symlink(filepath.Join("..data", "token"), filepath.Join(vol, "token")); err != nil {
		t.Fatal(err)
	}

	o := wlOptions(t, nil)
	o.Path = filepath.Join(vol, "token")
	o.Audience = "dagster-oidc"
	src, err := NewWorkloadSource(SourceKubernetes, o)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token(context.Background())
	if err != nil {
		t.Fatalf("first Token: %v", err)
	}
	if tok.IDToken != first {
		t.Fatal("first Token did not return the first generation")
	}

	writeGeneration("..2026_03_01_11_48_00.2", second)
	if err := os.RemoveAll(filepath.Join(vol, "..2026_03_01_11_00_00.1")); err != nil {
		t.Fatal(err)
	}
	tok, err = src.Token(context.Background())
	if err != nil {
		t.Fatalf("Token after rotation: %v", err)
	}
	if tok.IDToken != second {
		t.Error("Token after rotation did not return the new generation")
	}
}

func TestFileSourcesBadInput(t *testing.T) {
	dir := t.TempDir()
	valid := wlValid(t, "s", "sts.amazonaws.com")
	expired := wlExpired(t, "sts.amazonaws.com")
	noExp := wlMint(t, map[string]any{"sub": "s", "aud": "sts.amazonaws.com"})
	notJWT, err := os.ReadFile("testdata/workload/not-a-jwt.txt")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		wlWriteFile(t, p, data)
		return p
	}
	paths := map[string]string{
		"empty":   write("empty", " \n"),
		"notjwt":  write("notjwt", string(notJWT)),
		"expired": write("expired", expired+"\n"),
		"noexp":   write("noexp", noExp),
		"valid":   write("valid", valid),
		"huge":    write("huge", strings.Repeat("a", workloadMaxBody+1)),
		"missing": filepath.Join(dir, "missing"),
		"dir":     dir,
	}
	denied := func(p string) ([]byte, error) {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
	}
	tests := []struct {
		name     string
		source   string
		file     string // key of paths, given as Path
		env      map[string]string
		audience string
		readFile func(string) ([]byte, error)
		want     []string
		wantIs   error
		// cause is the WorkloadError's; exit 4 for a rejected or expired token.
		cause WorkloadCause
	}{
		{name: "missing file", cause: CauseUnreadable, source: SourceKubernetes, file: "missing", want: []string{"kubernetes", paths["missing"], "no such file"}, wantIs: fs.ErrNotExist},
		{name: "empty file", cause: CauseFailed, source: SourceKubernetes, file: "empty", want: []string{"kubernetes", paths["empty"], "empty"}},
		{name: "a directory", cause: CauseUnreadable, source: SourceFile, file: "dir", want: []string{"file", "file " + dir, "is a directory"}},
		{name: "permission denied", cause: CauseUnreadable, source: SourceAzureFile, file: "valid", readFile: denied, want: []string{"azure-file", paths["valid"], "permission denied"}, wantIs: fs.ErrPermission},
		{name: "not a JWT", cause: CauseRejected, source: SourceFile, file: "notjwt", want: []string{"file", paths["notjwt"], "not a signed JWT"}, wantIs: ErrNotJWT},
		{name: "expired", cause: CauseExpired, source: SourceKubernetes, file: "expired", want: []string{"kubernetes", paths["expired"], "the token expired at 2026-03-01T11:59:00Z"}, wantIs: ErrTokenExpired},
		{name: "no exp", cause: CauseFailed, source: SourceFile, file: "noexp", want: []string{"file", paths["noexp"], "no exp claim"}},
		{name: "wrong audience", cause: CauseRejected, source: SourceKubernetes, file: "valid", audience: "dagster-oidc", want: []string{"kubernetes", paths["valid"], `audience ["sts.amazonaws.com"] does not include "dagster-oidc"`}},
		{name: "over 1 MiB", cause: CauseUnreadable, source: SourceFile, file: "huge", want: []string{"file", paths["huge"], "larger than 1 MiB"}},
		{name: "irsa variable unset", cause: CauseUnset, source: SourceWebIdentityFile, want: []string{"web-identity-file", "AWS_WEB_IDENTITY_TOKEN_FILE is not set"}},
		{name: "irsa variable empty", cause: CauseUnset, source: SourceWebIdentityFile, env: map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": ""}, want: []string{"web-identity-file", "AWS_WEB_IDENTITY_TOKEN_FILE is not set"}},
		{name: "irsa file missing", cause: CauseUnreadable, source: SourceWebIdentityFile, env: map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": paths["missing"]},
			want: []string{"web-identity-file", "file " + paths["missing"] + " from AWS_WEB_IDENTITY_TOKEN_FILE"}, wantIs: fs.ErrNotExist},
		{name: "irsa file expired", cause: CauseExpired, source: SourceWebIdentityFile, env: map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": paths["expired"]},
			want: []string{"web-identity-file", paths["expired"], "AWS_WEB_IDENTITY_TOKEN_FILE", "expired"}, wantIs: ErrTokenExpired},
		{name: "azure variable unset", cause: CauseUnset, source: SourceAzureFile, want: []string{"azure-file", "AZURE_FEDERATED_TOKEN_FILE is not set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := wlOptions(t, tt.env)
			o.Path = paths[tt.file]
			o.Audience = tt.audience
			o.ReadFile = tt.readFile
			src, err := NewWorkloadSource(tt.source, o)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := src.Token(context.Background())
			if tok != nil {
				t.Errorf("got a token with the error")
			}
			t.Log(err)
			wlAssertFailure(t, err, tt.want, []string{valid, expired, noExp, strings.TrimSpace(string(notJWT))})
			var werr *WorkloadError
			if !errors.As(err, &werr) || werr.Source != tt.source {
				t.Errorf("error %v is not a *WorkloadError of %s", err, tt.source)
			}
			wlAssertCause(t, err, tt.cause)
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
		})
	}
}

func TestFileSourceCancelled(t *testing.T) {
	o := wlOptions(t, nil)
	o.Path = "/nonexistent"
	src, err := NewWorkloadSource(SourceFile, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
