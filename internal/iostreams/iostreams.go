// Package iostreams is the process's standard streams and whether a person
// is at them: data goes to Out, prompts and logs to ErrOut.
package iostreams

import (
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are the standard streams and what is known about them.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// StdinTTY and StderrTTY report whether a person is at the keyboard.
	StdinTTY  bool
	StderrTTY bool
}

// System returns the process's own streams.
func System() *IOStreams {
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		StdinTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		StderrTTY: term.IsTerminal(int(os.Stderr.Fd())),
	}
}

// CanPrompt reports whether an interactive login can be answered.
func (s *IOStreams) CanPrompt() bool { return s.StdinTTY && s.StderrTTY }

// WithoutTerminal returns a copy of s that is not a terminal, so that
// nothing prompts.
func (s *IOStreams) WithoutTerminal() *IOStreams {
	c := *s
	c.StdinTTY, c.StderrTTY = false, false
	return &c
}
