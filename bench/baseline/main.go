// Command baseline is the floor of the hot-path benchmark: a Go program that
// reads one file (the benchmark gives it a 2 KB one) and prints it, built
// with the same flags as dagster-oidc. Whatever dagster-oidc spends above it
// is its own start-up and work.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: baseline FILE")
		os.Exit(2)
	}
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
	if _, err := os.Stdout.Write(b); err != nil {
		os.Exit(1)
	}
}
