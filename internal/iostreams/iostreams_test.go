package iostreams

import "testing"

func TestCanPrompt(t *testing.T) {
	tests := []struct {
		name              string
		stdin, stderr     bool
		want, wantWithout bool
	}{
		{name: "a terminal", stdin: true, stderr: true, want: true},
		{name: "stdin piped", stderr: true},
		{name: "stderr captured", stdin: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &IOStreams{StdinTTY: tt.stdin, StderrTTY: tt.stderr}
			if got := s.CanPrompt(); got != tt.want {
				t.Errorf("CanPrompt = %v, want %v", got, tt.want)
			}
			if s.WithoutTerminal().CanPrompt() || s.StdinTTY != tt.stdin || s.StderrTTY != tt.stderr {
				t.Errorf("WithoutTerminal: the copy can prompt or the original changed: %+v", s)
			}
		})
	}
}
