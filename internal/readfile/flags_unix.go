//go:build unix

package readfile

import "syscall"

// openFlags keeps the open of a named pipe from waiting for a writer.
const openFlags = syscall.O_NONBLOCK
