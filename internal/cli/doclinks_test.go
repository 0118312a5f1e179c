package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	mdLink    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdMention = regexp.MustCompile(`[\w./-]+\.md\b`)
)

// TestIssue16_21_DocReferencesResolve checks that every relative link in
// README.md and docs/ points at a file of the repository, and that every
// Markdown file a page names in prose (e.g. "see testing.md") exists: the
// reference notes the project was built from are not part of it.
func TestIssue16_21_DocReferencesResolve(t *testing.T) {
	root := filepath.Join("..", "..")
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, filepath.Join(root, "README.md"))
	for _, page := range pages {
		raw, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			if _, err := os.Stat(filepath.Join(filepath.Dir(page), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", filepath.Base(page), m[1])
			}
		}
		prose := mdLink.ReplaceAllString(text, "]")
		for _, name := range mdMention.FindAllString(prose, -1) {
			if strings.Contains(name, "/") {
				if _, err := os.Stat(filepath.Join(root, name)); err == nil {
					continue
				}
				if _, err := os.Stat(filepath.Join(filepath.Dir(page), name)); err == nil {
					continue
				}
			}
			found := false
			for _, dir := range []string{".", "docs", filepath.Join("docs", "cli")} {
				if _, err := os.Stat(filepath.Join(root, dir, filepath.Base(name))); err == nil {
					found = true
				}
			}
			if !found {
				t.Errorf("%s names %s, which is not a file of the repository", filepath.Base(page), name)
			}
		}
	}
}

// TestIssue16_24_DexSection: identity-providers.md has a Dex section that
// says what a Dex user runs into: exact redirect matching once redirect URIs
// are listed, one refresh token per user and client, invalid_request for
// dead refresh tokens, and no revocation endpoint, quoting the messages
// dagster-oidc really prints for the last one.
func TestIssue16_24_DexSection(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "identity-providers.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "\n## Dex\n")
	if start < 0 {
		t.Fatal("identity-providers.md has no Dex section")
	}
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	flat := strings.Join(strings.Fields(section), " ")
	for _, want := range []string{
		"Redirect URIs match exactly once any are listed",
		"browser: {port: 8250}",
		"One refresh token per user and client",
		"`invalid_request`",
		"Refresh token is invalid or has already been claimed by another client.",
		"Refresh token expired.",
		"No revocation endpoint",
		"The issuer advertises no revocation_endpoint; the refresh token is removed locally only.",
		"```yaml partial=profile",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("the Dex section does not say %q", want)
		}
	}
	src, err := os.ReadFile(filepath.Join("..", "credentials", "profile.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "The issuer advertises no revocation_endpoint; the refresh token is removed locally only.") {
		t.Error("the logout use case (internal/credentials/profile.go) no longer says what the Dex section quotes")
	}
}
