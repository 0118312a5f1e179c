package cli

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The docs-snippet test: every YAML block of docs/*.md and README.md goes
// through `config validate --offline`, the validation every command runs
// when it loads the file. A block says what it is in its fence's info
// string, after the language:
//
//	```yaml                    a whole profiles file, validated as written
//	```yaml partial=profile    keys of one profile; laid over a profile with
//	                           only an issuer and a client_id
//	```yaml partial=file       top-level keys (audit:); laid over a file with
//	                           one such profile
//	```yaml other=WHAT         not a dagster-oidc file (a Kubernetes Pod, a
//	                           GitHub workflow, dagster.yaml): it must parse as
//	                           YAML and hold no profiles key
//
// Any other marker fails the test, so no block is skipped silently.

// docBlock is one fenced YAML block of a Markdown file.
type docBlock struct {
	file string
	line int    // of the opening fence
	kind string // "", "partial=profile", "partial=file" or "other=..."
	body string
}

var yamlFenceRE = regexp.MustCompile("^(\\s*)```\\s*(?i:yaml|yml)\\b\\s*(.*)$")
var fenceEndRE = regexp.MustCompile("^\\s*```\\s*$")

// yamlBlocks returns the YAML blocks of a Markdown document.
func yamlBlocks(t *testing.T, file string) []docBlock {
	t.Helper()
	lines := strings.Split(readFile(t, file), "\n")
	var out []docBlock
	for i := 0; i < len(lines); i++ {
		m := yamlFenceRE.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		start := i
		var body []string
		for i++; i < len(lines) && !fenceEndRE.MatchString(lines[i]); i++ {
			body = append(body, strings.TrimPrefix(lines[i], m[1]))
		}
		if i == len(lines) {
			t.Fatalf("%s:%d: unterminated code block", file, start+1)
		}
		out = append(out, docBlock{file: file, line: start + 1, kind: strings.TrimSpace(m[2]), body: strings.Join(body, "\n") + "\n"})
	}
	return out
}

// baseProfile is what a partial=profile block is laid over.
var baseProfile = map[string]any{"issuer": "https://id.example.com", "client_id": "dagster-oidc"}

// completeFile turns a block into the profiles file it stands for.
func completeFile(b docBlock) ([]byte, error) {
	var snippet map[string]any
	if err := yaml.Unmarshal([]byte(b.body), &snippet); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	switch b.kind {
	case "":
		return []byte(b.body), nil
	case "partial=profile":
		p := map[string]any{}
		for k, v := range baseProfile {
			p[k] = v
		}
		for k, v := range snippet {
			p[k] = v
		}
		return yaml.Marshal(map[string]any{"profiles": map[string]any{"snippet": p}})
	case "partial=file":
		if _, ok := snippet["profiles"]; ok {
			return nil, fmt.Errorf("a partial=file block has its own profiles; mark it as a whole file")
		}
		snippet["profiles"] = map[string]any{"snippet": baseProfile}
		return yaml.Marshal(snippet)
	}
	return nil, fmt.Errorf("unknown marker %q (want none, partial=profile, partial=file or other=WHAT)", b.kind)
}

// TestDocsYAMLBlocksValidate runs every YAML block of the docs through
// config validate.
func TestDocsYAMLBlocksValidate(t *testing.T) {
	var files []string
	err := filepath.WalkDir(filepath.Join("..", "..", "docs"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join("..", "..", "README.md"))
	var blocks []docBlock
	for _, f := range files {
		blocks = append(blocks, yamlBlocks(t, f)...)
	}
	if len(blocks) < 20 {
		t.Fatalf("found only %d YAML blocks; is the fence pattern right?", len(blocks))
	}
	validated := 0
	for _, b := range blocks {
		name := fmt.Sprintf("%s:%d", strings.TrimPrefix(filepath.ToSlash(b.file), "../../"), b.line)
		t.Run(name, func(t *testing.T) {
			if what, ok := strings.CutPrefix(b.kind, "other="); ok {
				var doc map[string]any
				if err := yaml.Unmarshal([]byte(b.body), &doc); err != nil {
					t.Fatalf("other=%s block is not YAML: %v", what, err)
				}
				if _, ok := doc["profiles"]; ok || what == "" {
					t.Fatalf("block marked other=%q holds dagster-oidc profiles, or names nothing; mark it as a profiles file", what)
				}
				return
			}
			data, err := completeFile(b)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			f := docsFactory(&out, &errOut)
			f.Env = func(k string) (string, bool) { return map[string]string{"HOME": dir}[k], k == "HOME" }
			code := Main(context.Background(), f, []string{"config", "validate", "--offline", "--config", path})
			if code != 0 || strings.Contains(errOut.String(), "warning:") {
				t.Errorf("config validate: exit %d\n%s\nof the file:\n%s", code, errOut.String(), data)
			}
			validated++
		})
	}
	if validated == 0 {
		t.Error("no block was validated")
	}
}
