// Package authz holds the proxy's authorisation model: the four roles
// (viewer < launcher < editor < admin), the grants a signed-in identity
// holds, and the one table that gives every Dagster GraphQL mutation and
// webserver route its minimum role.
package authz

import (
	"fmt"
	"slices"
	"strings"
)

// Role is a Dagster+-style role. Higher roles include the lower ones.
type Role int

// The roles, lowest first. None is the absence of a role.
const (
	None Role = iota
	Viewer
	Launcher
	Editor
	Admin
)

var roleNames = [...]string{None: "none", Viewer: "viewer", Launcher: "launcher", Editor: "editor", Admin: "admin"}

// String returns the role's name.
func (r Role) String() string {
	if r < None || r > Admin {
		return fmt.Sprintf("role(%d)", int(r))
	}
	return roleNames[r]
}

// RoleNames lists the assignable role names, lowest first.
func RoleNames() []string { return []string{"viewer", "launcher", "editor", "admin"} }

// ParseRole reads a role name (case-insensitive). "none" is not assignable.
func ParseRole(s string) (Role, error) {
	for r := Viewer; r <= Admin; r++ {
		if strings.EqualFold(s, roleNames[r]) {
			return r, nil
		}
	}
	return None, fmt.Errorf("unknown role %q (one of %s)", s, strings.Join(RoleNames(), ", "))
}

// Grant is one role, on every code location (Locations nil) or on the listed
// ones only.
type Grant struct {
	Role      Role     `json:"r"`
	Locations []string `json:"l,omitempty"`
}

// Grants are everything an identity holds, from every matching rule.
type Grants []Grant

// Highest is the highest role held anywhere (None without grants).
func (g Grants) Highest() Role {
	best := None
	for _, x := range g {
		best = max(best, x.Role)
	}
	return best
}

// Everywhere is the highest role held on every code location.
func (g Grants) Everywhere() Role {
	best := None
	for _, x := range g {
		if x.Locations == nil {
			best = max(best, x.Role)
		}
	}
	return best
}

// At is the highest role held on the code location loc.
func (g Grants) At(loc string) Role {
	best := None
	for _, x := range g {
		if x.Locations == nil || slices.Contains(x.Locations, loc) {
			best = max(best, x.Role)
		}
	}
	return best
}

// Allows reports whether the grants reach need on each of locs. A nil locs
// means the locations are unknown (the request names none the proxy can
// read): then only a grant on every location counts, so a role limited to
// some locations never acts outside them.
func (g Grants) Allows(need Role, locs []string) bool {
	if need <= None {
		return true
	}
	if locs == nil {
		return g.Everywhere() >= need
	}
	for _, l := range locs {
		if g.At(l) < need {
			return false
		}
	}
	return true
}

// String describes the grants for a person, e.g. "editor; admin on etl".
func (g Grants) String() string {
	if len(g) == 0 {
		return "no role"
	}
	parts := make([]string, 0, len(g))
	for _, x := range g {
		if x.Locations == nil {
			parts = append(parts, x.Role.String())
		} else {
			parts = append(parts, x.Role.String()+" on "+strings.Join(x.Locations, ", "))
		}
	}
	return strings.Join(parts, "; ")
}
