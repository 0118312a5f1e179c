//go:build !linux

package proc

import "syscall"

// sysProcAttr is nil where no parent-death signal exists (macOS, Windows):
// a child outlives a wrapper killed by SIGKILL there.
func sysProcAttr() *syscall.SysProcAttr { return nil }
