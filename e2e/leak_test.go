//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"sync"

	"github.com/dagster-oidc/dagster-oidc/internal/sandbox"
)

// ledger collects, across the whole suite, every token and secret the
// sandboxes issued and every output and audit trail the binary produced;
// TestMain then searches each output for each secret.
var ledger = &leakLedger{}

type leakLedger struct {
	mu      sync.Mutex
	secrets []sandbox.Secret
	outputs []leakOutput
	// verboseRuns and verboseLines count the runs with -v lines among the
	// outputs, and those lines.
	verboseRuns, verboseLines int
}

type leakOutput struct {
	name string
	text string
	// credentials is true for the stdout of a command whose job is to print
	// an ID token or cloud credentials (token, aws credential-process, ...):
	// those may hold them, never a refresh token.
	credentials bool
}

func (l *leakLedger) addSecrets(s []sandbox.Secret) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.secrets = append(l.secrets, s...)
}

func (l *leakLedger) addOutput(name, text string, credentials bool) {
	if text == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outputs = append(l.outputs, leakOutput{name, text, credentials})
}

// addVerbose records a run's -v lines, searched like any other output.
func (l *leakLedger) addVerbose(name, text string) {
	l.addOutput(name, text, false)
	l.mu.Lock()
	defer l.mu.Unlock()
	if text != "" {
		l.verboseRuns++
		l.verboseLines += strings.Count(text, "\n")
	}
}

func (l *leakLedger) verboseCount() (runs, lines int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.verboseRuns, l.verboseLines
}

func (l *leakLedger) secretCount() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.secrets) }
func (l *leakLedger) outputCount() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.outputs) }

// leaks lists "<output>: <kind>" for each secret found where it may not be.
func (l *leakLedger) leaks() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, o := range l.outputs {
		for _, s := range l.secrets {
			if len(s.Value) < 12 {
				continue
			}
			if o.credentials && s.Kind != "refresh_token" {
				continue
			}
			if strings.Contains(o.text, s.Value) {
				out = append(out, fmt.Sprintf("%s: holds a %s", o.name, s.Kind))
			}
		}
	}
	return out
}

// printsCredentials reports whether args name a command whose stdout is a
// token or credentials by design.
func printsCredentials(args []string) bool {
	cmd := strings.Join(nonFlags(args), " ")
	for _, c := range []string{"token", "aws credential-process", "aws env", "gcp token", "gcp env", "gcp executable"} {
		if cmd == c {
			return true
		}
	}
	return false
}

func nonFlags(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if !strings.Contains(a, "=") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") && a != "-v" && a != "--verbose" {
				i++ // the flag's value
			}
			continue
		}
		out = append(out, a)
	}
	return out
}
