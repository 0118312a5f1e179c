package doccmd

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
)

// testRoot is a small tree: prog get [--format a|b], prog put ARG, and the
// group prog grp with one subcommand.
func testRoot() *cobra.Command {
	root := &cobra.Command{Use: "prog", SilenceErrors: true, SilenceUsage: true}
	get := &cobra.Command{Use: "get", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return errors.New("ran") }}
	get.Flags().String("format", "a", "a|b")
	put := &cobra.Command{Use: "put ARG", Args: cobra.ExactArgs(1), RunE: func(*cobra.Command, []string) error { return errors.New("ran") }}
	grp := &cobra.Command{Use: "grp"}
	grp.AddCommand(&cobra.Command{Use: "sub", RunE: func(*cobra.Command, []string) error { return nil }})
	root.AddCommand(get, put, grp)
	return root
}

var testEnums = Enums{"get --format": {"a", "b"}}

func TestFind(t *testing.T) {
	got, err := Finder{Program: "prog", SynopsisTables: true}.Find("testdata", "page.md")
	if err != nil {
		t.Fatal(err)
	}
	want := []Line{
		{File: "page.md", Line: 3, Program: "prog", Args: []string{"get", "--format", "json"}, Context: Shown},
		{File: "page.md", Line: 3, Program: "prog", Args: []string{"process"}, Context: Quoted},
		{File: "page.md", Line: 7, Program: "prog", Args: []string{"get", "--format", "a"}, Context: Shown},
		{File: "page.md", Line: 7, Program: "prog", Args: []string{"get", "--format", "b"}, Context: Shown},
		{File: "page.md", Line: 8, Program: "prog", Args: []string{"put", "X"}, Context: Shown, Invalid: true},
		{File: "page.md", Line: 11, Program: "prog", Args: []string{"get", "--format", "a"}, Context: Shown},
		{File: "page.md", Line: 13, Program: "prog", Args: []string{"put", "two words"}, Context: Shown},
		{File: "page.md", Line: 18, Program: "prog", Args: []string{"get", "--format", "a"}, Context: Quoted},
		{File: "page.md", Line: 23, Program: "prog", Args: []string{"put", "x"}, Context: Shown},
		{File: "page.md", Line: 29, Program: "prog", Args: []string{"get"}, Context: Shown},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

func TestCheckLine(t *testing.T) {
	tests := []struct {
		name    string
		ctx     Context
		args    []string
		wantErr string
	}{
		{"runs", Shown, []string{"get", "--format", "b"}, ""},
		{"placeholder value", Shown, []string{"get", "--format", "FMT"}, ""},
		{"bad value", Shown, []string{"get", "--format", "c"}, `--format "c" is not one of a|b`},
		{"unknown flag", Shown, []string{"get", "--colour"}, "unknown flag: --colour"},
		{"unknown command", Shown, []string{"gte"}, `unknown command "gte" for "prog"`},
		{"unknown subcommand", Shown, []string{"grp", "sbu"}, `unknown command "sbu" for "prog grp"`},
		{"missing argument", Shown, []string{"put"}, "accepts 1 arg(s), received 0"},
		{"group alone", Shown, []string{"grp"}, "no command runs"},
		{"help", Shown, []string{"grp", "--help"}, ""},
		{"help of a typo", Shown, []string{"grp", "sbu", "--help"}, `unknown command "sbu" for "prog grp"`},
		{"message prefix", Shown, []string{"get:", "failed"}, ErrNotCommand.Error()},
		{"quoted prose", Quoted, []string{"process", "holding"}, ErrNotCommand.Error()},
		{"quoted with trailing prose", Quoted, []string{"get", "--format", "a", "again"}, ""},
		{"quoted group", Quoted, []string{"grp"}, ""},
		{"quoted bad flag", Quoted, []string{"get", "--colour", "x"}, "unknown flag: --colour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckLine(testRoot, Line{Args: tt.args, Context: tt.ctx}, testEnums)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(got, tt.wantErr)) {
				t.Errorf("CheckLine(%q) = %q, want %q", tt.args, got, tt.wantErr)
			}
		})
	}
}
