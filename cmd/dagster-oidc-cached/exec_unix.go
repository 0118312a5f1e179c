//go:build unix

package main

import (
	"syscall"
)

// fullName is the full binary's file name.
const fullName = "dagster-oidc"

// runFull replaces this process with the full binary, with environ, so
// that its exit code, signals and streams are the caller's own.
func runFull(full string, args, environ []string) error {
	return syscall.Exec(full, append([]string{full}, args...), environ)
}
