//go:build !unix

package readfile

// openFlags is empty where there is no O_NONBLOCK; the stat check remains.
const openFlags = 0
