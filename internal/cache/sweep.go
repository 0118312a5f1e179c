package cache

import (
	"os"
	"path/filepath"
	"time"
)

// tempPattern names the temporary files of [FileStore.Set]; they live in the
// cache directory itself so that the rename is atomic.
const tempPattern = ".tmp-*"

// staleTempAge is the age from which a temporary file counts as abandoned.
// FileStore.Set holds one for the milliseconds between create and rename;
// one that is a minute old was left by a process killed in between (SIGKILL,
// OOM, power loss), and may hold a refresh token.
const staleTempAge = time.Minute

// sweepStaleTemp removes the abandoned temporary files of dir: regular files
// matching tempPattern last modified more than staleTempAge before now.
// Younger ones may belong to a writer of another profile (which holds
// another lock) and are left alone. It is best effort: a file that cannot be
// removed now is tried again at the next lock.
func sweepStaleTemp(dir string, now time.Time) {
	matches, err := filepath.Glob(filepath.Join(dir, tempPattern))
	if err != nil {
		return
	}
	for _, m := range matches {
		info, err := os.Lstat(m)
		if err != nil || !info.Mode().IsRegular() || now.Sub(info.ModTime()) < staleTempAge {
			continue
		}
		_ = os.Remove(m)
	}
}
