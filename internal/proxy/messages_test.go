package proxy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestAnswersInTroubleshooting: what the proxy answers a browser or API
// client (the text of http.Error and graphQLError, a WebSocket close
// reason, any "dagster-oidc: ..." string) is in docs/troubleshooting.md.
// The error catalogue of internal/cli covers errors and hints only; these
// texts are neither. Each text is looked up by its longest constant run, cut
// at format verbs, as the catalogue does.
func TestAnswersInTroubleshooting(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	verb := regexp.MustCompile(`%[-+# 0]*[0-9.]*[a-zA-Z]`)
	fset := token.NewFileSet()
	found := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			text, err := strconv.Unquote(lit.Value)
			if err != nil || !answerText(f, lit, text) {
				return true
			}
			key := ""
			for _, seg := range verb.Split(strings.TrimPrefix(text, "dagster-oidc: "), -1) {
				if seg = strings.Trim(seg, " :;,.()"); len(seg) > len(key) {
					key = seg
				}
			}
			if len(key) < 16 {
				return true
			}
			found++
			if !strings.Contains(string(doc), key) {
				t.Errorf("%s: docs/troubleshooting.md lacks %q (the proxy's answer %q)", fset.Position(lit.Pos()), key, text)
			}
			return true
		})
	}
	if found < 10 {
		t.Fatalf("only %d answers found; is the source walk broken?", found)
	}
}

// answerText tells whether the literal lit is text the proxy answers with:
// it starts with "dagster-oidc: ", or it is the message of http.Error.
func answerText(f *ast.File, lit *ast.BasicLit, text string) bool {
	if strings.HasPrefix(text, "dagster-oidc: ") {
		return true
	}
	isMsg := false
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) < 2 {
			return !isMsg
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Error" {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "http" && call.Args[1] == lit {
				isMsg = true
			}
		}
		return !isMsg
	})
	return isMsg
}
