package gqlinspect

import (
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// MaxTokens bounds the tokens of one document, so that a huge document is
// refused before it costs the parser (or the webserver) much.
const MaxTokens = 15000

// Operation is one operation of a document.
type Operation struct {
	// Type is "query", "mutation" or "subscription".
	Type string
	// Name is the operation's name ("" when anonymous).
	Name string
	// Selected is true for the operation the request runs.
	Selected bool
	// Fields are the root fields, fragments expanded, with their arguments
	// resolved against the request's variables.
	Fields []Field
}

// Field is one root field of an operation.
type Field struct {
	// Name is the schema field (an alias does not change it).
	Name string
	// Key is the field's key in the response: its alias, else its name.
	Key string
	// Args are the argument values as JSON-like Go values (map[string]any,
	// []any, string, bool, nil; numbers and enums as their text).
	Args map[string]any
}

// Operations parses r.Query and returns every operation in it, marking the
// one r runs. Every operation is returned, not only the selected one, so that
// a caller can refuse a document that merely carries a mutation behind a
// query's operationName. A document that does not parse, has no operation,
// several operations and no operationName, an operationName that names none
// of them, or a fragment spread that names no fragment is an *Error.
func Operations(r Request) ([]Operation, error) {
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: r.Query}, MaxTokens)
	if err != nil {
		return nil, errorf("parse", "the document does not parse: %s", firstLine(err.Error()))
	}
	if len(doc.Operations) == 0 {
		return nil, errorf("parse", "the document has no operation")
	}
	if r.OperationName == "" && len(doc.Operations) > 1 {
		return nil, errorf("ambiguous", "the document has %d operations and the request names none (operationName)", len(doc.Operations))
	}
	frags := map[string]*ast.FragmentDefinition{}
	for _, f := range doc.Fragments {
		if _, dup := frags[f.Name]; dup {
			return nil, errorf("ambiguous", "fragment %s is defined twice", f.Name)
		}
		frags[f.Name] = f
	}
	out := make([]Operation, 0, len(doc.Operations))
	names := map[string]bool{}
	selected := false
	for _, op := range doc.Operations {
		if op.Name != "" && names[op.Name] {
			return nil, errorf("ambiguous", "operation %s is defined twice", op.Name)
		}
		names[op.Name] = true
		o := Operation{Type: string(op.Operation), Name: op.Name}
		if o.Type == "" {
			o.Type = "query"
		}
		o.Selected = r.OperationName == "" || op.Name == r.OperationName
		selected = selected || o.Selected
		vars := resolver{given: r.Variables, defs: op.VariableDefinitions}
		fields, err := rootFields(op.SelectionSet, frags, map[string]bool{}, vars)
		if err != nil {
			return nil, err
		}
		o.Fields = fields
		out = append(out, o)
	}
	if !selected {
		return nil, errorf("ambiguous", "operationName %q names no operation of the document", r.OperationName)
	}
	return out, nil
}

// maxFragmentDepth bounds fragment nesting at the root of an operation.
const maxFragmentDepth = 32

func rootFields(set ast.SelectionSet, frags map[string]*ast.FragmentDefinition, visiting map[string]bool, vars resolver) ([]Field, error) {
	var out []Field
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			args := make(map[string]any, len(s.Arguments))
			for _, a := range s.Arguments {
				args[a.Name] = vars.value(a.Value, 0)
			}
			key := s.Alias
			if key == "" {
				key = s.Name
			}
			out = append(out, Field{Name: s.Name, Key: key, Args: args})
		case *ast.InlineFragment:
			fs, err := rootFields(s.SelectionSet, frags, visiting, vars)
			if err != nil {
				return nil, err
			}
			out = append(out, fs...)
		case *ast.FragmentSpread:
			f, ok := frags[s.Name]
			if !ok {
				return nil, errorf("parse", "fragment %s is not defined", s.Name)
			}
			if visiting[s.Name] || len(visiting) >= maxFragmentDepth {
				return nil, errorf("parse", "fragment %s spreads itself", s.Name)
			}
			visiting[s.Name] = true
			fs, err := rootFields(f.SelectionSet, frags, visiting, vars)
			delete(visiting, s.Name)
			if err != nil {
				return nil, err
			}
			out = append(out, fs...)
		}
	}
	return out, nil
}

// resolver turns argument literals into values, substituting variables
// (given, else their default).
type resolver struct {
	given map[string]any
	defs  ast.VariableDefinitionList
}

// maxValueDepth bounds the nesting of a literal that is resolved.
const maxValueDepth = 64

func (r resolver) value(v *ast.Value, depth int) any {
	if v == nil || depth > maxValueDepth {
		return nil
	}
	switch v.Kind {
	case ast.Variable:
		if x, ok := r.given[v.Raw]; ok {
			return x
		}
		if d := r.defs.ForName(v.Raw); d != nil && d.DefaultValue != nil {
			return r.value(d.DefaultValue, depth+1)
		}
		return nil
	case ast.StringValue, ast.BlockValue, ast.EnumValue, ast.IntValue, ast.FloatValue:
		return v.Raw
	case ast.BooleanValue:
		b, _ := strconv.ParseBool(v.Raw)
		return b
	case ast.ListValue:
		out := make([]any, 0, len(v.Children))
		for _, c := range v.Children {
			out = append(out, r.value(c.Value, depth+1))
		}
		return out
	case ast.ObjectValue:
		out := make(map[string]any, len(v.Children))
		for _, c := range v.Children {
			out[c.Name] = r.value(c.Value, depth+1)
		}
		return out
	}
	return nil
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
