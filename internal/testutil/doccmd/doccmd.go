// Package doccmd finds the command lines a Markdown page shows for a program
// (in fenced code blocks and in inline code) and checks each against the
// program's real cobra command tree: the command path exists, every flag
// exists on that command and parses, enumerated values are valid, and the
// command's argument and flag-group rules hold. The docs tests of
// dagster-oidc and of dagster-oidc-sandbox use it.
//
// A command line is found wherever the program's name (or a path ending in
// bin/NAME) starts a word and is followed by an argument. Shell lines are
// split the way sh would (quotes, backslash continuations; a pipe, ;, &&,
// ||, a redirection, a closing parenthesis or a comment ends the command).
// JSON or Python lists (["dagster-oidc", "exec", ...]) and YAML block lists
// of the same are read element by element. In inline code, a|b is a choice
// (each alternative is checked), [ ] mark optional parts and "..." elides
// arguments, as in a usage synopsis.
//
// A page marks a line it shows on purpose although it does not parse (a
// misspelt command in a troubleshooting entry) with an HTML comment on the
// line before the block or at the end of the table row:
//
//	<!-- doccmd: invalid -->
//
// Such a line must then fail to parse, so the marker cannot outlive its
// reason.
package doccmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// InvalidMarker marks the code block after it, or the table row it ends, as
// showing a command line that must not parse.
const InvalidMarker = "<!-- doccmd: invalid -->"

// Context says how strictly a found line is checked.
type Context int

const (
	// Shown is a line a reader types or a tool runs: a shell, Dockerfile,
	// YAML, JSON, Python or INI block, inline code that starts with the
	// program, or a cell of a synopsis table. It must parse as written.
	Shown Context = iota
	// Quoted is the program named inside a message (an output block or
	// inline code quoting what a command prints, e.g. a hint "run:
	// dagster-oidc login --profile dev"). It counts when its first word is a
	// subcommand or a flag; the longest prefix that parses (or names a
	// command group) is the command, the rest is the message's prose.
	Quoted
)

// Line is one command line found in a page.
type Line struct {
	File    string   // the page, relative to the repository root
	Line    int      // 1-based line of the page
	Program string   // the program's name
	Args    []string // the arguments after the program's name
	Context Context
	Invalid bool // marked as deliberately not parsing
}

// String renders the line for a test failure.
func (l Line) String() string {
	return fmt.Sprintf("%s:%d: %s %s", l.File, l.Line, l.Program, strings.Join(l.Args, " "))
}

// Pages returns README.md, python/README.md and every Markdown file under
// docs/ of the repository at root, except the generated docs/cli reference.
func Pages(root string) ([]string, error) {
	pages := []string{"README.md", "python/README.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() && rel == "docs/cli" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(strings.ToLower(path), ".md") {
			pages = append(pages, rel)
		}
		return nil
	})
	return pages, err
}

var (
	fenceRE     = regexp.MustCompile("^\\s*(```+|~~~+)\\s*([A-Za-z0-9_+-]*)")
	inlineRE    = regexp.MustCompile("`([^`\n]+)`")
	tableHeadRE = regexp.MustCompile(`^\|\s*command\s*\|`)
)

// shownLanguages are the code block languages whose lines are run as
// written; every other block (none, text, output) shows what a command
// prints.
var shownLanguages = map[string]bool{
	"sh": true, "bash": true, "shell": true, "zsh": true, "fish": true, "powershell": true, "pwsh": true,
	"dockerfile": true, "yaml": true, "yml": true, "json": true, "python": true, "py": true,
	"ini": true, "toml": true, "go": true, "makefile": true,
}

// Finder finds one program's command lines.
type Finder struct {
	// Program is the name of the binary ("dagster-oidc"). A name that is a
	// prefix of another program's ("dagster-oidc" of "dagster-oidc-sandbox")
	// does not match the longer one.
	Program string
	// SynopsisTables reads the first cell of a table whose first header is
	// "command" as a synopsis of Program's subcommands (`login [--flow F]`).
	SynopsisTables bool
}

// Find returns the command lines of the page at root/page.
func (f Finder) Find(root, page string) ([]Line, error) {
	raw, err := os.ReadFile(filepath.Join(root, page))
	if err != nil {
		return nil, err
	}
	program := f.Program
	lines := strings.Split(string(raw), "\n")
	var out []Line
	synopsis := false
	for i := 0; i < len(lines); i++ {
		m := fenceRE.FindStringSubmatch(lines[i])
		if m == nil {
			if !strings.HasPrefix(lines[i], "|") {
				synopsis = false
			} else if tableHeadRE.MatchString(lines[i]) {
				synopsis = f.SynopsisTables
				continue
			}
			invalid := strings.Contains(lines[i], InvalidMarker)
			add := func(ctx Context, argvs [][]string) {
				for _, args := range argvs {
					out = append(out, Line{File: page, Line: i + 1, Program: program, Args: args, Context: ctx, Invalid: invalid})
				}
			}
			if synopsis {
				cells := strings.Split(lines[i], " | ")
				for _, sm := range inlineRE.FindAllStringSubmatch(cells[0], -1) {
					if span := sm[1]; !strings.HasPrefix(span, program+" ") {
						add(Shown, synopsisArgs(span))
					}
				}
			}
			for _, sm := range inlineRE.FindAllStringSubmatch(lines[i], -1) {
				span := sm[1]
				ctx := Quoted
				if startsWithProgram(span, program) {
					ctx = Shown
				}
				for _, at := range programAt(span, program) {
					if at.quote != 0 {
						add(ctx, [][]string{listArgs(span[at.end:])})
					} else {
						add(ctx, synopsisArgs(span[at.end:at.until]))
					}
				}
			}
			continue
		}
		invalid := i > 0 && strings.Contains(lines[i-1], InvalidMarker)
		ctx := Quoted
		if shownLanguages[strings.ToLower(m[2])] {
			ctx = Shown
		}
		start := i
		var body []string
		for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), m[1]); i++ {
			body = append(body, lines[i])
		}
		if i == len(lines) {
			return nil, fmt.Errorf("%s:%d: unterminated code block", page, start+1)
		}
		for _, c := range blockCommands(body, program, ctx == Shown) {
			out = append(out, Line{File: page, Line: start + 2 + c.line, Program: program, Args: c.args, Context: ctx, Invalid: invalid})
		}
	}
	return out, nil
}

// startsWithProgram reports whether an inline span is a command line of
// program: it starts with the name, a bin/ path to it, or a "$ " prompt.
func startsWithProgram(span, program string) bool {
	span = strings.TrimPrefix(span, "$ ")
	if i := strings.Index(span, "bin/"+program+" "); i >= 0 && !strings.Contains(span[:i], " ") {
		return true
	}
	return strings.HasPrefix(span, program+" ")
}

// found is a command of a code block, by the block's 0-based line.
type found struct {
	line int
	args []string
}

// blockCommands returns the command lines of program in a code block.
func blockCommands(body []string, program string, shown bool) []found {
	var out []found
	for i := 0; i < len(body); i++ {
		// YAML block list: "- dagster-oidc" then "- exec", ...
		if item, ok := yamlItem(body[i]); ok && item == program {
			indent := body[i][:strings.Index(body[i], "-")]
			var args []string
			for j := i + 1; j < len(body) && strings.HasPrefix(body[j], indent+"-"); j++ {
				a, _ := yamlItem(body[j])
				args = append(args, a)
			}
			out = append(out, found{i, args})
			continue
		}
		// Join backslash continuations.
		line, first := body[i], i
		for strings.HasSuffix(strings.TrimRight(line, " "), "\\") && i+1 < len(body) {
			i++
			line = strings.TrimSuffix(strings.TrimRight(line, " "), "\\") + " " + body[i]
		}
		if shown {
			line = stripComment(line)
		}
		rest := strings.Join(body[i+1:], "\n")
		for _, at := range programAt(line, program) {
			switch {
			case at.quote != 0:
				if args := listArgs(line[at.end:] + "\n" + rest); len(args) > 0 {
					out = append(out, found{first, args})
				}
			case shown:
				if args := shellArgs(line[at.end:at.until]); len(args) > 0 {
					out = append(out, found{first, args})
				}
			default:
				// an output block, or a usage synopsis
				for _, args := range synopsisArgs(line[at.end:at.until]) {
					out = append(out, found{first, args})
				}
			}
		}
	}
	return out
}

var yamlItemRE = regexp.MustCompile(`^\s*-\s+(?:"([^"]*)"|'([^']*)'|(\S+))\s*$`)

// yamlItem returns the scalar of a YAML block list item.
func yamlItem(line string) (string, bool) {
	m := yamlItemRE.FindStringSubmatch(line)
	if m == nil {
		return "", false
	}
	return m[1] + m[2] + m[3], true
}

// occurrence is where program's name ends in a text, and the quote that
// opened it when it is an element of a list.
type occurrence struct {
	end   int
	quote byte // the list element's quote
	until int  // the end of the quoted string holding the command line
}

// programAt returns where program appears as a command word in s.
func programAt(s, program string) []occurrence {
	var out []occurrence
	for off := 0; ; {
		i := strings.Index(s[off:], program)
		if i < 0 {
			return out
		}
		start, end := off+i, off+i+len(program)
		off = end
		before := byte(' ')
		if p := strings.TrimSuffix(s[:start], "bin/"); p != s[:start] {
			// a path ending in bin/: look before the whole path
			j := strings.LastIndexAny(p, " \t\"'(`") + 1
			if j > 0 {
				before = p[j-1]
			}
		} else if start > 0 {
			before = s[start-1]
		}
		if !strings.ContainsRune(" \t\"'(`", rune(before)) {
			continue
		}
		after := byte(' ')
		if end < len(s) {
			after = s[end]
		}
		switch {
		case (before == '"' || before == '\'') && after == before:
			// an element of a list: "dagster-oidc", "exec"
			if strings.HasPrefix(strings.TrimLeft(s[end+1:], " "), ",") {
				out = append(out, occurrence{end: end + 1, quote: before})
			}
		case after == ' ' || after == '\t':
			until := len(s)
			if before == '"' || before == '\'' {
				// a command line in a string: "run dagster-oidc login"
				if j := strings.IndexByte(s[end:], before); j >= 0 {
					until = end + j
				}
			}
			out = append(out, occurrence{end: end, until: until})
		}
	}
}

var listItemRE = regexp.MustCompile(`^\s*,?\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)')`)

// listArgs reads the quoted elements of a list up to its closing bracket.
func listArgs(s string) []string {
	var args []string
	for {
		s = strings.TrimLeft(s, " \t\n")
		m := listItemRE.FindStringSubmatch(s)
		if m == nil {
			return args
		}
		args = append(args, strings.ReplaceAll(m[1], `\"`, `"`)+m[2])
		s = s[len(m[0]):]
	}
}

// shellArgs splits s the way sh would, up to the end of the command.
func shellArgs(s string) []string {
	var args []string
	var word strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			args = append(args, word.String())
		}
		word.Reset()
		inWord = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				j = len(s) - i - 1
			}
			word.WriteString(s[i+1 : i+1+j])
			inWord, i = true, i+1+j
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
			}
			word.WriteString(strings.ReplaceAll(s[i+1:min(j, len(s))], `\"`, `"`))
			inWord, i = true, j
		case c == '$' && i+1 < len(s) && s[i+1] == '(':
			depth, j := 0, i+1
			for ; j < len(s); j++ {
				if s[j] == '(' {
					depth++
				} else if s[j] == ')' {
					if depth--; depth == 0 {
						break
					}
				}
			}
			word.WriteString(s[i:min(j+1, len(s))])
			inWord, i = true, j
		case c == '\\' && i+1 < len(s):
			word.WriteByte(s[i+1])
			inWord, i = true, i+1
		case (c == '#' || c == '(') && !inWord:
			flush()
			return args
		case strings.IndexByte("|;&)<>`", c) >= 0:
			// 2>&1, 2>/dev/null: the digit belongs to the redirection
			if c == '>' && inWord && (word.String() == "1" || word.String() == "2") {
				word.Reset()
				inWord = false
			}
			flush()
			return args
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return args
}

// synopsisArgs splits the arguments of an inline span, reading it as a
// usage synopsis: a|b without spaces is a choice (every combination is
// returned), [ ] mark optional parts, and " | " is a pipe.
func synopsisArgs(rest string) [][]string {
	rest = strings.ReplaceAll(rest, `\|`, "|")
	rest = strings.NewReplacer("[", " ", "]", " ").Replace(rest)
	rest = strings.ReplaceAll(strings.ReplaceAll(rest, "|", "\x00"), " \x00 ", " | ")
	words := shellArgs(rest)
	if len(words) == 0 {
		return nil
	}
	return expand(words)
}

// stripComment cuts a # comment (at the start of a word, outside quotes)
// off a line.
func stripComment(line string) string {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return line[:i]
		}
	}
	return line
}

// expand turns words holding choices (a\x00b) into every combination.
func expand(words []string) [][]string {
	combos := [][]string{nil}
	for _, w := range words {
		var next [][]string
		for _, alt := range strings.Split(w, "\x00") {
			for _, c := range combos {
				next = append(next, append(slices.Clone(c), alt))
			}
		}
		combos = next
	}
	return combos
}

// Enums are the valid values of enumerated flags, by command path without
// the root and flag name ("status --format"); a key "* --flow" applies to
// every command with that flag.
type Enums map[string][]string

// Check parses args against the command tree newRoot builds, with every
// command's hooks and run functions replaced, so that nothing runs: cobra
// finds the command, parses the flags, validates the positional arguments,
// the required flags and the flag groups; Check adds that a command with
// subcommands takes no positional argument (cobra accepts one below the
// root) and that enumerated flags hold one of their values.
func Check(newRoot func() *cobra.Command, args []string, enums Enums) error {
	root := newRoot()
	var ran *cobra.Command
	var stub func(c *cobra.Command)
	stub = func(c *cobra.Command) {
		c.PersistentPreRun, c.PersistentPreRunE, c.PreRun, c.PreRunE = nil, nil, nil, nil
		c.PostRun, c.PostRunE, c.PersistentPostRun, c.PersistentPostRunE = nil, nil, nil, nil
		if c.Runnable() {
			c.Run = nil
			c.RunE = func(c *cobra.Command, _ []string) error { ran = c; return nil }
		}
		for _, sub := range c.Commands() {
			stub(sub)
		}
	}
	stub(root)
	root.SetArgs(args)
	var sink strings.Builder
	root.SetOut(&sink)
	root.SetErr(&sink)
	if _, err := root.ExecuteC(); err != nil {
		return err
	}
	if ran == nil {
		// --help, or a command group alone: cobra prints the help
		cmd, rest, err := root.Find(args)
		if err != nil {
			return err
		}
		for _, a := range rest {
			if !strings.HasPrefix(a, "-") && cmd.HasSubCommands() {
				return fmt.Errorf("unknown command %q for %q", a, cmd.CommandPath())
			}
		}
		if slices.Contains(args, "--help") || slices.Contains(args, "-h") {
			return nil
		}
		return errGroup
	}
	path := strings.TrimPrefix(ran.CommandPath(), root.Name()+" ")
	if ran.HasSubCommands() {
		if pos := ran.Flags().Args(); len(pos) > 0 {
			return fmt.Errorf("unknown command %q for %q", pos[0], ran.CommandPath())
		}
	}
	var bad error
	ran.Flags().Visit(func(fl *pflag.Flag) {
		values, ok := enums[path+" --"+fl.Name]
		if !ok {
			values, ok = enums["* --"+fl.Name]
		}
		if ok && bad == nil && !slices.Contains(values, fl.Value.String()) && !isPlaceholder(fl.Value.String()) {
			bad = fmt.Errorf("--%s %q is not one of %s", fl.Name, fl.Value.String(), strings.Join(values, "|"))
		}
	})
	return bad
}

// errGroup is Check's error for a command group without a subcommand.
var errGroup = errors.New("no command runs (a command group without a subcommand only prints its help)")

// ErrNotCommand is CheckLine's answer for the prefix of a message the
// program prints ("dagster-oidc exec: ...") and for a Quoted mention whose
// first word is neither a subcommand nor a flag: prose such as "another
// dagster-oidc process".
var ErrNotCommand = errors.New("not a command line")

// CheckLine checks a found line as its context asks (see Context).
func CheckLine(newRoot func() *cobra.Command, l Line, enums Enums) error {
	if strings.HasSuffix(l.Args[0], ":") {
		// "dagster-oidc exec: ...": the prefix of a message it prints
		return ErrNotCommand
	}
	if l.Context == Shown {
		return Check(newRoot, l.Args, enums)
	}
	first := l.Args[0]
	if sub, _, err := newRoot().Find(l.Args[:1]); !strings.HasPrefix(first, "-") && (err != nil || !sub.HasParent()) {
		return ErrNotCommand
	}
	err := Check(newRoot, l.Args, enums)
	// Trailing prose is dropped word by word; a flag is never prose.
	for n := len(l.Args) - 1; err != nil && n > 0 && !strings.HasPrefix(l.Args[n], "-"); n-- {
		if e := Check(newRoot, l.Args[:n], enums); e == nil || errors.Is(e, errGroup) {
			return nil
		}
	}
	if errors.Is(err, errGroup) {
		return nil
	}
	return err
}

// isPlaceholder reports whether a flag value stands for one the reader
// chooses: a shell expansion ($FORMAT) or an upper-case name (FORMAT).
func isPlaceholder(v string) bool {
	return strings.HasPrefix(v, "$") || (v != "" && strings.ToUpper(v) == v && strings.ToLower(v) != v)
}

// CheckPages finds f's command lines in every page of the repository at
// root (see Pages) and checks each with CheckLine, failing t for each line
// that does not parse (or that is marked invalid and parses), and when
// fewer than atLeast lines were found: the extraction itself is checked.
func CheckPages(t testing.TB, root string, f Finder, newRoot func() *cobra.Command, enums Enums, atLeast int) {
	t.Helper()
	pages, err := Pages(root)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, page := range pages {
		lines, err := f.Find(root, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			err := CheckLine(newRoot, l, enums)
			switch {
			case errors.Is(err, ErrNotCommand):
				continue
			case l.Invalid && err == nil:
				t.Errorf("%s: marked invalid, but it parses; remove the marker", l)
			case !l.Invalid && err != nil:
				t.Errorf("%s: %v", l, err)
			}
			checked++
		}
	}
	if checked < atLeast {
		t.Errorf("found only %d %s command lines, want at least %d; is the extraction right?", checked, f.Program, atLeast)
	}
}
