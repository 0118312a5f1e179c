package policy

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// listClaims are claims that identity providers send as JSON arrays.
var listClaims = []string{"groups", "roles", "amr", "aud", "entitlements"}

// Lint returns warnings about rules that compile but likely do not mean
// what they say: a list claim compared with a string with == or != is
// never equal (write 'data-eng' in claims.groups). Each warning starts
// "rule N: ", N counted from 1.
func Lint(rules []Rule) []string {
	var out []string
	for i, r := range rules {
		if strings.TrimSpace(r.When) == "" {
			continue
		}
		tree, err := parser.Parse(r.When)
		if err != nil {
			continue // Compile reports it
		}
		l := &listCompare{}
		ast.Walk(&tree.Node, l)
		for _, w := range l.found {
			out = append(out, fmt.Sprintf("rule %d: %s", i+1, w))
		}
	}
	return out
}

// listCompare collects `claims.<list> == 'text'` comparisons.
type listCompare struct{ found []string }

// Visit checks each == and != between a list claim and a string literal.
func (l *listCompare) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok || (b.Operator != "==" && b.Operator != "!=") {
		return
	}
	for _, pair := range [][2]ast.Node{{b.Left, b.Right}, {b.Right, b.Left}} {
		m, ok := pair[0].(*ast.MemberNode)
		s, isString := pair[1].(*ast.StringNode)
		if !ok || !isString {
			continue
		}
		path := memberPath(m)
		if len(path) != 1 || !contains(listClaims, path[0]) {
			continue
		}
		verb, want := "is never", "'"+s.Value+"' in claims."+path[0]
		if b.Operator == "!=" {
			verb, want = "is always", "'"+s.Value+"' not in claims."+path[0]
		}
		l.found = append(l.found, fmt.Sprintf("claims.%s %s '%s' compares a list claim with a string and %s true for a list; write: %s",
			path[0], b.Operator, s.Value, verb, want))
	}
}
