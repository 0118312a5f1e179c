package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// compiled is a rule ready to run.
type compiled struct {
	program *vm.Program // nil when the rule has no condition
	claims  [][]string  // claim paths the condition reads, e.g. [groups], [org team]
	run     []string    // run fields the condition reads: id, job, location
}

// Compile checks every rule without evaluating it, for `config validate`.
// The error joins one line per bad rule, each starting "rule N: " with N
// counted from 1.
func Compile(rules []Rule) error {
	var errs []error
	for i, r := range rules {
		if _, err := compileRule(r); err != nil {
			errs = append(errs, fmt.Errorf("rule %d: %w", i+1, err))
		}
	}
	return errors.Join(errs...)
}

// compileRule checks the rule's shape and compiles its condition.
func compileRule(r Rule) (*compiled, error) {
	switch {
	case r.Deny && r.Target != "":
		return nil, fmt.Errorf("a deny rule refuses every target; remove its target %q", r.Target)
	case !r.Deny && strings.TrimSpace(r.Target) == "":
		return nil, errors.New("no target: set the role ARN or service account it grants")
	}
	if strings.TrimSpace(r.When) == "" {
		return &compiled{}, nil
	}
	// expr.AsBool refuses every condition whose type is known not to be a
	// bool (1 + 2, run.job, nil) here, in config validate and explain, not
	// at run time; a claim's value (typed any) is checked after the run,
	// where evalRule names its type. The optimiser is off: each program
	// runs once, and optimising costs more than it saves (about 75 µs
	// against 20 µs per rule).
	program, err := expr.Compile(r.When, expr.Env(vars{}), expr.AsBool(), expr.Optimize(false))
	if err != nil {
		msg := flatten(err).Error()
		if got, ok := strings.CutPrefix(msg, "expected bool, but got "); ok {
			return nil, fmt.Errorf("condition %q yields %s, not bool", r.When, strings.TrimSpace(got))
		}
		return nil, fmt.Errorf("could not compile condition %q: %s", r.When, msg)
	}
	return &compiled{program: program, claims: claimPaths(program.Node()), run: runFields(program.Node())}, nil
}

// flatten keeps expr's multi-line error (message, source line, caret) on
// one line.
func flatten(err error) error {
	lines := strings.Split(err.Error(), "\n")
	return errors.New(strings.TrimSpace(lines[0]))
}

// claimPaths lists the constant claim paths an expression reads:
// claims.a.b and claims["a"]["b"] both give [a b].
func claimPaths(root ast.Node) [][]string {
	c := &pathCollector{seen: map[string]bool{}}
	ast.Walk(&root, c)
	return c.paths
}

// runFields lists the fields of `run` an expression reads, in the order
// run.id, run.job, run.location, so a false condition can say what the run
// was.
func runFields(root ast.Node) []string {
	seen := map[string]bool{}
	ast.Walk(&root, runCollector(seen))
	var out []string
	for _, f := range []string{"id", "job", "location"} {
		if seen[f] {
			out = append(out, f)
		}
	}
	return out
}

// runCollector marks each run.<field> access in seen.
type runCollector map[string]bool

// Visit records run.<field> member accesses.
func (c runCollector) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	prop, isString := m.Property.(*ast.StringNode)
	if ok && isString && id.Value == "run" {
		c[prop.Value] = true
	}
}

type pathCollector struct {
	paths [][]string
	seen  map[string]bool
}

// Visit records the path of each member access rooted at `claims`.
func (c *pathCollector) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	path := memberPath(m)
	if path == nil {
		return
	}
	key := strings.Join(path, "\x00")
	if !c.seen[key] {
		c.seen[key] = true
		c.paths = append(c.paths, path)
	}
}

// memberPath returns the claim path of m, or nil if m is not a chain of
// constant-string accesses starting at the `claims` identifier.
func memberPath(m *ast.MemberNode) []string {
	prop, ok := m.Property.(*ast.StringNode)
	if !ok {
		return nil
	}
	var base []string
	switch n := m.Node.(type) {
	case *ast.IdentifierNode:
		if n.Value != "claims" {
			return nil
		}
		base = []string{}
	case *ast.MemberNode:
		if base = memberPath(n); base == nil {
			return nil
		}
	case *ast.ChainNode:
		inner, ok := n.Node.(*ast.MemberNode)
		if !ok {
			return nil
		}
		if base = memberPath(inner); base == nil {
			return nil
		}
	default:
		return nil
	}
	return append(base[:len(base):len(base)], prop.Value)
}

// absent returns the first missing or null prefix of each path, formatted
// "a.b", without duplicates.
func absent(claims map[string]any, paths [][]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range paths {
		var cur any = claims
		for i, k := range p {
			m, ok := cur.(map[string]any)
			if !ok {
				break // not an object: the expression decides what that means
			}
			v, ok := m[k]
			if !ok || v == nil {
				name := strings.Join(p[:i+1], ".")
				if !seen[name] {
					seen[name] = true
					out = append(out, name)
				}
				break
			}
			cur = v
		}
	}
	return out
}
