//go:build windows

package main

import (
	"errors"
	"os"
	"os/exec"
)

// fullName is the full binary's file name.
const fullName = "dagster-oidc.exe"

// runFull runs the full binary with this process's streams and exits with
// its exit code (Windows has no exec).
func runFull(full string, args, environ []string) error {
	cmd := exec.Command(full, args...)
	cmd.Env = environ
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		os.Exit(ee.ExitCode())
	}
	if err == nil {
		os.Exit(0)
	}
	return err
}
