// Package apperr classifies errors by the exit code the command line returns
// for them and carries the one-line hint a user reads next.
//
// Exit codes (docs/architecture.md): 0 success, 1 error, 2 usage error,
// 3 login required in a non-interactive context, 4 denied (verification or
// policy), 130 interrupted.
package apperr

import (
	"context"
	"errors"
)

// Kind is the class of an error; each kind has one exit code.
type Kind int

// The kinds of error, in the order of their exit codes.
const (
	KindError         Kind = iota // exit 1
	KindUsage                     // exit 2
	KindLoginRequired             // exit 3
	KindDenied                    // exit 4
	KindInterrupted               // exit 130
)

// Error attaches a Kind and a hint to an underlying error.
type Error struct {
	Kind Kind
	Err  error
	// Hint is what the user should do next, e.g. "run: dagster-oidc login --profile dev".
	Hint string
}

// Error returns the underlying message; the hint is printed separately.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// New wraps err with a kind and a hint. A nil err stays nil.
func New(kind Kind, err error, hint string) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: kind, Err: err, Hint: hint}
}

// Denied marks err as a verification or policy denial (exit 4).
func Denied(err error, hint string) error { return New(KindDenied, err, hint) }

// LoginRequired marks err as needing an interactive login (exit 3).
func LoginRequired(err error, hint string) error { return New(KindLoginRequired, err, hint) }

// Usage marks err as a usage error (exit 2).
func Usage(err error, hint string) error { return New(KindUsage, err, hint) }

// KindOf returns the kind of the outermost classified error in err's chain,
// KindInterrupted for a cancelled context, and KindError otherwise.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, context.Canceled) {
		return KindInterrupted
	}
	return KindError
}

// HintOf returns the first hint found in err's chain, or "".
func HintOf(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return ""
		}
		if e.Hint != "" {
			return e.Hint
		}
		err = e.Err
	}
	return ""
}

// ExitCode maps an error to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	switch KindOf(err) {
	case KindUsage:
		return 2
	case KindLoginRequired:
		return 3
	case KindDenied:
		return 4
	case KindInterrupted:
		return 130
	default:
		return 1
	}
}
