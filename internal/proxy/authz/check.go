package authz

import (
	"slices"
	"strings"

	"github.com/dagster-oidc/dagster-oidc/internal/proxy/gqlinspect"
)

// Check is the decision on one GraphQL request.
type Check struct {
	// Allowed is true when the grants reach every field's role.
	Allowed bool
	// Operation is the name of the operation the request runs.
	Operation string
	// Mutations are the mutation fields of the whole document, in order.
	Mutations []string
	// Need is the role of the first field refused (when refused), or the
	// highest role a field needs (when allowed).
	Need Role
	// Field is the field refused ("" when allowed).
	Field string
	// Locations are the code locations of the refused field, or of all
	// mutations when allowed; nil when none could be read.
	Locations []string
}

// CheckOperations decides a request from its parsed operations. Queries and
// subscriptions need Viewer; each mutation field needs its table role on
// each code location it names (or, naming none, on every location). Every
// operation of the document is checked, not only the selected one: a
// document is refused if any of its operations would be.
func CheckOperations(g Grants, ops []gqlinspect.Operation) Check {
	c := Check{Allowed: true, Need: Viewer}
	for _, op := range ops {
		if op.Selected {
			c.Operation = op.Name
		}
	}
	if g.Highest() < Viewer {
		c.Allowed = false
	}
	for _, op := range ops {
		if op.Type != "mutation" {
			continue
		}
		for _, f := range op.Fields {
			if f.Name == "__typename" {
				continue
			}
			c.Mutations = append(c.Mutations, f.Name)
			m, _ := LookupMutation(f.Name)
			locs := FieldLocations(m, f.Args)
			if !c.Allowed {
				continue
			}
			if !g.Allows(m.Role, locs) {
				c.Allowed, c.Need, c.Field, c.Locations = false, m.Role, f.Name, locs
				continue
			}
			c.Need = max(c.Need, m.Role)
			for _, l := range locs {
				if !slices.Contains(c.Locations, l) {
					c.Locations = append(c.Locations, l)
				}
			}
		}
	}
	return c
}

// FieldLocations reads the code locations a mutation's arguments name along
// its LocationPaths. It returns nil (unknown) when the entry has no path, or
// when any path fails to reach a string: a selector the proxy cannot read is
// treated as naming every location.
func FieldLocations(m Mutation, args map[string]any) []string {
	if len(m.LocationPaths) == 0 {
		return nil
	}
	var out []string
	for _, p := range m.LocationPaths {
		vals, ok := walk(args, strings.Split(p, "."))
		if !ok {
			return nil
		}
		for _, v := range vals {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// walk follows path through maps, fanning out over lists on the way. ok is false when
// any branch misses the path or ends in something other than a string.
func walk(v any, path []string) ([]string, bool) {
	switch x := v.(type) {
	case []any:
		if len(path) == 0 {
			return nil, false // a list where the location string should be
		}
		var out []string
		for _, e := range x {
			vals, ok := walk(e, path)
			if !ok {
				return nil, false
			}
			out = append(out, vals...)
		}
		return out, true
	case map[string]any:
		if len(path) == 0 {
			return nil, false
		}
		next, ok := x[path[0]]
		if !ok {
			return nil, false
		}
		return walk(next, path[1:])
	case string:
		if len(path) != 0 {
			return nil, false
		}
		return []string{x}, true
	}
	return nil, false
}
