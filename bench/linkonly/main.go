// Command linkonly is the floor of dagster-oidc's start-up: the baseline
// (read one file, print it) linked with every package dagster-oidc links,
// so that all their package initialisation runs, and nothing else. The
// benchmark's difference between it and the baseline is the price of the
// linked modules; between dagster-oidc and it, the price of our own work.
package main

import (
	"fmt"
	"os"

	_ "github.com/dagster-oidc/dagster-oidc/internal/cli" // links what dagster-oidc links
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: linkonly FILE")
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
