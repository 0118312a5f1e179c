//go:build windows

package cache

import (
	"errors"
	"os"
)

// CheckDir checks that dir exists and is a directory. Windows has no uid
// and mode bits; the per-user profile directory's ACL is what protects the
// cache there.
func CheckDir(dir string) error {
	if dir == "" {
		return errors.New("no cache directory configured")
	}
	info, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return errors.New("cache directory " + dir + " is not a directory")
	}
	return nil
}

// ReadTrusted reads the cache file at path, at most 4 MiB.
func ReadTrusted(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readCapped(f, path)
}

func ownedByMe(os.FileInfo) bool { return true }
