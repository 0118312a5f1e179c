// Package shellquote quotes command-line arguments that are printed for a
// person to paste or written into another program's configuration.
package shellquote

import "strings"

// Arg quotes s the way a POSIX shell and Python's shlex.split (botocore's
// credential_process) both read back: as is when it holds nothing special,
// else in single quotes.
func Arg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`;&|<>()*?[]#~!{}") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// Join quotes each argument and joins them with spaces.
func Join(args ...string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = Arg(a)
	}
	return strings.Join(out, " ")
}
