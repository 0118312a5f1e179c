//go:build unix

package flow_test

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dagster-oidc/dagster-oidc/internal/cache"
	"github.com/dagster-oidc/dagster-oidc/internal/flow"
	"github.com/dagster-oidc/dagster-oidc/internal/testutil/otheruser"
)

// TestFinding1_ForeignOwnedDiscoveryCacheRefused is issue 15.1 for the
// cached discovery document and JWKS: once they belong to another user
// (who could have planted their own keys), neither is used, even with the
// issuer down, and the refusal names the path.
func TestFinding1_ForeignOwnedDiscoveryCacheRefused(t *testing.T) {
	otheruser.Require(t)
	sb := startSandbox(t)
	dir := t.TempDir()
	d := &flow.Discovery{Issuer: sb.Issuer(), HTTP: http.DefaultClient, Dir: dir}
	m, err := d.Metadata(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := sb.MintIDToken(map[string]any{"sub": "alice"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.KeySet(m.JWKSURL).VerifySignature(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	sb.Close()
	docs := filepath.Join(dir, "discovery")
	entries, err := os.ReadDir(docs)
	if err != nil || len(entries) != 2 {
		t.Fatalf("discovery cache holds %d files (%v), want the document and the JWKS", len(entries), err)
	}

	t.Run("planted documents", func(t *testing.T) {
		for _, e := range entries {
			otheruser.Chown(t, filepath.Join(docs, e.Name()))
		}
		_, err := d.Metadata(t.Context())
		wantUntrusted(t, err, docs+"/", "owned by uid 65534")
		_, err = d.KeySet(m.JWKSURL).VerifySignature(t.Context(), tok)
		wantUntrusted(t, err, docs, "owned by uid 65534")
	})
	t.Run("planted directory", func(t *testing.T) {
		err := filepath.WalkDir(docs, func(p string, _ fs.DirEntry, err error) error {
			if err == nil {
				otheruser.Chown(t, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Metadata(t.Context())
		wantUntrusted(t, err, docs+":", "owned by uid 65534")
	})
}

func wantUntrusted(t *testing.T, err error, path, reason string) {
	t.Helper()
	if !errors.Is(err, cache.ErrUntrusted) {
		t.Fatalf("err = %v, want cache.ErrUntrusted", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), reason) {
		t.Errorf("err %q does not name %s and say %q", err, path, reason)
	}
}
