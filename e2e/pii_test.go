//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// personal collects, across the whole suite, every audit line, syslog
// message and -v debug line the binary produced, with the sandbox users of
// its world; TestMain then searches each for each user's email, username,
// subject and name (issue 18): none may appear unless the world's
// audit.claims lists the claim.
var personal = &personalLedger{}

type personalLedger struct {
	mu      sync.Mutex
	worlds  int
	users   map[string]bool
	lines   int
	msgs    int
	debug   int
	allowed int
	found   []string
	// checked and unchecked count the trails `audit verify --checkpoints`
	// passed, and those it could not check (no key left).
	checked, unchecked int
}

func (p *personalLedger) verified(ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ok {
		p.checked++
	} else {
		p.unchecked++
	}
}

// personalClaim is one claim of a sandbox user and the audit.claims name
// that allows it in clear.
type personalClaim struct{ claim, value string }

func userClaims(u sandbox.User) []personalClaim {
	// ID is both the login name (preferred_username) and the subject.
	return []personalClaim{{"email", u.Email}, {"preferred_username", u.ID}, {"sub", u.ID}, {"name", u.Name}}
}

// addWorld searches the audit trail files, the syslog messages and the -v
// debug lines of one world, whose directory dir is replaced first (test
// names in temporary paths are not personal data).
func (p *personalLedger) addWorld(name, dir string, users []sandbox.User, allow []string, trail, syslog, debug []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.users == nil {
		p.users = map[string]bool{}
	}
	p.worlds++
	if len(allow) > 0 {
		p.allowed++
	}
	scan := func(kind string, i int, text string) {
		text = strings.ReplaceAll(text, dir, "$DIR")
		// An allowed value may hold another one (alice@example.com holds
		// the username alice): take the allowed values out first.
		for _, u := range users {
			for _, c := range userClaims(u) {
				if c.value != "" && c.claim != "sub" && slices.Contains(allow, c.claim) {
					text = strings.ReplaceAll(text, c.value, "$ALLOWED")
				}
			}
		}
		for _, u := range users {
			p.users[u.ID] = true
			for _, c := range userClaims(u) {
				if c.value == "" || (c.claim != "sub" && slices.Contains(allow, c.claim)) {
					continue
				}
				// preferred_username and sub share a value: allowing the
				// first allows the value.
				if c.claim == "sub" && slices.Contains(allow, "preferred_username") {
					continue
				}
				if holdsWord(text, c.value) {
					p.found = append(p.found, fmt.Sprintf("%s: %s %d holds %s's %s", name, kind, i, u.ID, c.claim))
				}
			}
		}
	}
	for _, t := range trail {
		for i, line := range strings.Split(strings.TrimRight(t, "\n"), "\n") {
			if line != "" {
				p.lines++
				scan("audit line", i+1, line)
			}
		}
	}
	for i, m := range syslog {
		p.msgs++
		scan("syslog message", i+1, m)
	}
	for i, l := range debug {
		p.debug++
		scan("debug line", i+1, l)
	}
}

// holdsWord reports whether v occurs in s not inside a longer word.
func holdsWord(s, v string) bool {
	word := func(i int) bool {
		if i < 0 || i >= len(s) {
			return false
		}
		c := s[i]
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	for off := 0; ; {
		i := strings.Index(s[off:], v)
		if i < 0 {
			return false
		}
		i += off
		if !word(i-1) && !word(i+len(v)) {
			return true
		}
		off = i + 1
	}
}

// report is the line TestMain prints, or the findings.
func (p *personalLedger) report() (string, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	users := make([]string, 0, len(p.users))
	for u := range p.users {
		users = append(users, u)
	}
	sort.Strings(users)
	return fmt.Sprintf("personal-data check: %d audit lines, %d syslog messages and %d -v debug lines of %d worlds searched for the email, username, subject and name of sandbox users %s; none found where audit.claims does not allow it (%d worlds allow-listed a claim)\naudit chain check: %d trails passed audit verify --checkpoints against their syslog checkpoints (%d not checked)\n",
		p.lines, p.msgs, p.debug, p.worlds, strings.Join(users, ", "), p.allowed, p.checked, p.unchecked), p.found
}

// auditTrail reads the world's audit files, rotated ones first.
func auditTrail(dir string) []string {
	path := filepath.Join(dir, "state", "audit.jsonl")
	var out []string
	for i := 9; i >= 1; i-- {
		if b, err := os.ReadFile(path + "." + strconv.Itoa(i)); err == nil {
			out = append(out, string(b))
		}
	}
	if b, err := os.ReadFile(path); err == nil {
		out = append(out, string(b))
	}
	return out
}

// auditClaims is the audit.claims list of a config file.
func auditClaims(config string) []string {
	b, err := os.ReadFile(config)
	if err != nil {
		return nil
	}
	var c struct {
		Audit struct {
			Claims []string `yaml:"claims"`
		} `yaml:"audit"`
	}
	_ = yaml.Unmarshal(b, &c)
	return c.Audit.Claims
}
