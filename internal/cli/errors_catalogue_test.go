package cli

// The error catalogue: every message and hint the product can print, read
// from the source with go/parser, must appear in docs/troubleshooting.md.
//
// What is catalogued (non-test .go files under internal/, except
// internal/sandbox, the test helpers of internal/testutil and testdata, and
// cmd/dagster-oidc):
//
//   - messages: the format (first) argument of errors.New and fmt.Errorf;
//   - hints: the hint argument of apperr.New, apperr.Denied,
//     apperr.LoginRequired and apperr.Usage; the argument given to a
//     parameter named "hint" of any function or function literal of the same
//     package (helpers such as gcpconfig.invalid forward it to apperr); and
//     the strings returned by functions and methods whose name starts with
//     "explain" or "explanation" or contains "hint" (awsSTSHint, gcpSTSHint,
//     workloadCauseHint, rotationHint, loginHint, ...);
//   - details: the value of a field named hint or detail (any case) in a
//     composite literal, e.g. flow.VerificationError{Detail: ...}, printed as
//     "ID token refused: <detail>".
//
// The text of an argument is a string literal, a "+" concatenation (a
// non-literal operand cuts the text there), the format of fmt.Sprintf, or a
// string constant of the package or of the enclosing function. Any other
// expression has no constant text and is not catalogued.
//
// The text is cut into segments at every format verb (%v, %q, %5.2f, %w, ...)
// and at every non-literal operand; the catalogue key is the longest segment,
// trimmed of spaces and of the punctuation : ; , . ( ) ". The longest run of
// constant text is what a user can find in the doc: "profile %q has no aws
// section" is keyed by "has no aws section", not by "profile".
//
// Skipped, by these two rules only:
//
//  1. wrappers: a message whose format ends in %w ("could not read config
//     %s: %w"). It only adds context to the wrapped error, which is
//     catalogued where it is made (or comes from the OS or the network).
//  2. keys shorter than minKeyLen characters ("%s is not set", "not a
//     JWT"): too generic to look up; they always reach the user inside a
//     longer, catalogued message.
//
// The doc is searched verbatim, so write each message in a code span as the
// tool prints it, with example values for the verbs.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// minKeyLen is the shortest catalogue key worth looking up (rule 2).
const minKeyLen = 16

// catalogueEntry is one catalogued message or hint.
type catalogueEntry struct {
	Pos  string // file:line, relative to the repository root
	Kind string // "message", "hint" or "detail"
	Text string // the constant text, with \x00 where a non-literal was cut out
	Key  string // what docs/troubleshooting.md must contain
}

// cut marks where a non-literal operand was in a concatenation.
const cut = "\x00"

// formatVerbRE matches a fmt verb with its flags, width, precision and index.
var formatVerbRE = regexp.MustCompile(`%[-+# 0]*(\[\d+\])?(\d+|\*)?(\.(\d+|\*)?)?[a-zA-Z%]`)

// catalogueKey returns the key of a message or hint text, or "" when the
// text is skipped by rule 1 (message wrappers) or rule 2 (short keys).
func catalogueKey(kind, text string) string {
	if kind == "message" && strings.HasSuffix(strings.TrimSpace(text), "%w") {
		return ""
	}
	segs := strings.Split(formatVerbRE.ReplaceAllString(text, cut), cut)
	best := ""
	for _, s := range segs {
		s = strings.Trim(s, " \t\n:;,.()\"")
		if len(s) > len(best) {
			best = s
		}
	}
	if len(best) < minKeyLen {
		return ""
	}
	return best
}

func TestCatalogueKeyRule(t *testing.T) {
	tests := []struct {
		kind, text, want string
	}{
		{"message", "profile %q has no aws section", "has no aws section"},
		{"message", "could not read config %s: %w", ""},
		{"message", "%w: the token does not have three dot-separated parts", "the token does not have three dot-separated parts"},
		{"message", "%s is not set", ""},
		{"message", "the gcp output file %s has version %d, want 1", "the gcp output file"},
		{"message", "executable timeout %d ms is outside %d..%d ms", "executable timeout"},
		{"message", "100%% of %5.2f is %[1]v and the rest of the line", "and the rest of the line"},
		{"hint", "run: dagster-oidc explain --profile " + cut, "run: dagster-oidc explain --profile"},
		{"hint", "see --help", ""},
		{"hint", "the token ends in %w which is fine for hints", "which is fine for hints"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := catalogueKey(tt.kind, tt.text); got != tt.want {
				t.Errorf("catalogueKey(%q, %q) = %q, want %q", tt.kind, tt.text, got, tt.want)
			}
		})
	}
}

func TestCatalogueInTroubleshooting(t *testing.T) {
	root := filepath.Join("..", "..")
	entries := readCatalogue(t, root)
	// A parser that found nothing would make this test pass vacuously; the
	// product had well over a hundred catalogued texts when it was written.
	if len(entries) < 100 {
		t.Fatalf("the catalogue has only %d entries; the source walk is broken", len(entries))
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.Key] {
			continue
		}
		seen[e.Key] = true
		if !strings.Contains(string(doc), e.Key) {
			missing = append(missing, e.Pos+" ("+e.Kind+"): "+strconv.Quote(e.Key))
		}
	}
	if len(missing) > 0 {
		t.Errorf("docs/troubleshooting.md lacks %d of %d catalogued texts; document each where the user meets it, with its exit code and what to do next:\n%s",
			len(missing), len(seen), strings.Join(missing, "\n"))
	}
}

// readCatalogue parses the product's source under root.
func readCatalogue(t *testing.T, root string) []catalogueEntry {
	t.Helper()
	pkgs := map[string][]*ast.File{}
	fset := token.NewFileSet()
	for _, dir := range []string{"internal", filepath.Join("cmd", "dagster-oidc")} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" || p == filepath.Join(root, "internal", "sandbox") || p == filepath.Join(root, "internal", "testutil") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			pkgs[filepath.Dir(p)] = append(pkgs[filepath.Dir(p)], f)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var out []catalogueEntry
	for _, files := range pkgs {
		out = append(out, packageCatalogue(fset, root, files)...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pos < out[j].Pos })
	return out
}

// packageCatalogue applies the rules of the file comment to one package.
func packageCatalogue(fset *token.FileSet, root string, files []*ast.File) []catalogueEntry {
	pkgConsts := map[string]string{}
	hintParams := map[string]int{} // function name -> index of its hint parameter
	for _, f := range files {
		for _, decl := range f.Decls {
			if gd, ok := decl.(*ast.GenDecl); ok {
				collectConsts(gd, pkgConsts)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.FuncDecl:
				if i := hintParam(x.Type); i >= 0 {
					hintParams[x.Name.Name] = i
				}
			case *ast.AssignStmt:
				for i, rhs := range x.Rhs {
					if fl, ok := rhs.(*ast.FuncLit); ok && i < len(x.Lhs) {
						if id, ok := x.Lhs[i].(*ast.Ident); ok {
							if j := hintParam(fl.Type); j >= 0 {
								hintParams[id.Name] = j
							}
						}
					}
				}
			}
			return true
		})
	}
	var out []catalogueEntry
	for _, f := range files {
		for _, decl := range f.Decls {
			consts := pkgConsts
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Body != nil {
				// Constants declared inside the function shadow the package's.
				consts = maps.Clone(pkgConsts)
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					if ds, ok := n.(*ast.DeclStmt); ok {
						if gd, ok := ds.Decl.(*ast.GenDecl); ok {
							collectConsts(gd, consts)
						}
					}
					return true
				})
			}
			out = append(out, declCatalogue(fset, root, decl, consts, hintParams)...)
		}
	}
	return out
}

// declCatalogue applies the rules to one top-level declaration.
func declCatalogue(fset *token.FileSet, root string, decl ast.Decl, consts map[string]string, hintParams map[string]int) []catalogueEntry {
	var out []catalogueEntry
	add := func(kind string, pos token.Pos, e ast.Expr) {
		text, ok := literalText(e, consts)
		if !ok {
			return
		}
		if key := catalogueKey(kind, text); key != "" {
			p := fset.Position(pos)
			rel, err := filepath.Rel(root, p.Filename)
			if err != nil {
				rel = p.Filename
			}
			out = append(out, catalogueEntry{Pos: filepath.ToSlash(rel) + ":" + strconv.Itoa(p.Line), Kind: kind, Text: text, Key: key})
		}
	}
	if fd, ok := decl.(*ast.FuncDecl); ok && fd.Body != nil {
		lower := strings.ToLower(fd.Name.Name)
		if strings.HasPrefix(lower, "explain") || strings.HasPrefix(lower, "explanation") || strings.Contains(lower, "hint") {
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if r, ok := n.(*ast.ReturnStmt); ok {
					for _, res := range r.Results {
						add("hint", r.Pos(), res)
					}
				}
				return true
			})
		}
	}
	ast.Inspect(decl, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CallExpr:
			pkg, name := callee(x)
			switch {
			case pkg == "errors" && name == "New", pkg == "fmt" && name == "Errorf":
				if len(x.Args) > 0 {
					add("message", x.Pos(), x.Args[0])
				}
			case pkg == "apperr" && name == "New":
				if len(x.Args) == 3 {
					add("hint", x.Pos(), x.Args[2])
				}
			case pkg == "apperr" && (name == "Denied" || name == "LoginRequired" || name == "Usage"):
				if len(x.Args) == 2 {
					add("hint", x.Pos(), x.Args[1])
				}
			case pkg == "":
				if i, ok := hintParams[name]; ok && i < len(x.Args) {
					add("hint", x.Pos(), x.Args[i])
				}
			}
		case *ast.KeyValueExpr:
			if id, ok := x.Key.(*ast.Ident); ok {
				switch strings.ToLower(id.Name) {
				case "hint":
					add("hint", x.Pos(), x.Value)
				case "detail":
					add("detail", x.Pos(), x.Value)
				}
			}
		}
		return true
	})
	return out
}

// collectConsts records the string constants of a declaration.
func collectConsts(gd *ast.GenDecl, into map[string]string) {
	if gd.Tok != token.CONST {
		return
	}
	for _, spec := range gd.Specs {
		vs := spec.(*ast.ValueSpec)
		for i, name := range vs.Names {
			if i < len(vs.Values) {
				if s, ok := literalText(vs.Values[i], into); ok {
					into[name.Name] = s
				}
			}
		}
	}
}

// hintParam returns the index of a parameter named hint, or -1.
func hintParam(ft *ast.FuncType) int {
	i := 0
	for _, field := range ft.Params.List {
		if len(field.Names) == 0 {
			i++
			continue
		}
		for _, name := range field.Names {
			if name.Name == "hint" {
				return i
			}
			i++
		}
	}
	return -1
}

// callee returns the package (or receiver) and name of a call's function;
// pkg is "" for a plain identifier.
func callee(c *ast.CallExpr) (pkg, name string) {
	switch fn := c.Fun.(type) {
	case *ast.Ident:
		return "", fn.Name
	case *ast.SelectorExpr:
		if id, ok := fn.X.(*ast.Ident); ok {
			return id.Name, fn.Sel.Name
		}
	}
	return "-", ""
}

// literalText returns the constant text of e (see the file comment).
func literalText(e ast.Expr, consts map[string]string) (string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(x.Value)
		return s, err == nil
	case *ast.Ident:
		s, ok := consts[x.Name]
		return s, ok
	case *ast.ParenExpr:
		return literalText(x.X, consts)
	case *ast.BinaryExpr:
		if x.Op != token.ADD {
			return "", false
		}
		l, lok := literalText(x.X, consts)
		r, rok := literalText(x.Y, consts)
		switch {
		case lok && rok:
			return l + r, true
		case lok:
			return l + cut, true
		case rok:
			return cut + r, true
		}
		return "", false
	case *ast.CallExpr:
		if pkg, name := callee(x); pkg == "fmt" && name == "Sprintf" && len(x.Args) > 0 {
			return literalText(x.Args[0], consts)
		}
	}
	return "", false
}
