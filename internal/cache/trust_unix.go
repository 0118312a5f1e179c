//go:build unix

package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// CheckDir reports whether dir can be trusted before anything in it is read:
// dir must be a directory owned by the effective user and not writable by
// group or others; every directory above it must be owned by that user or
// by root and be writable by group or others only when sticky (as /tmp is),
// so nobody else can swap dir for their own. Symbolic links on the way are
// resolved and must themselves be owned by the user or by root. A missing
// dir wraps [fs.ErrNotExist]; anything else wraps [ErrUntrusted].
func CheckDir(dir string) error {
	if dir == "" {
		return errors.New("no cache directory configured")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("could not resolve cache directory %s: %w", dir, err)
	}
	euid := os.Geteuid()
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return err
	}
	if real != abs {
		// The links themselves: whoever owns one can point it elsewhere.
		for p := abs; ; p = filepath.Dir(p) {
			if info, err := os.Lstat(p); err == nil && info.Mode()&fs.ModeSymlink != 0 {
				if uid := ownerOf(info); uid != euid && uid != 0 {
					return &UntrustedError{Path: p, Reason: fmt.Sprintf("a symbolic link owned by uid %d, not by you (uid %d) or root", uid, euid)}
				}
			}
			if p == filepath.Dir(p) {
				break
			}
		}
	}
	info, err := os.Lstat(real)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("cache directory %s is not a directory", dir)
	}
	if err := checkOwned(real, info, euid); err != nil {
		return err
	}
	for p := filepath.Dir(real); ; p = filepath.Dir(p) {
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		uid := ownerOf(info)
		if uid != euid && uid != 0 {
			return &UntrustedError{Path: p, Reason: fmt.Sprintf("a parent directory owned by uid %d, not by you (uid %d) or root", uid, euid)}
		}
		if info.Mode().Perm()&0o022 != 0 && info.Mode()&fs.ModeSticky == 0 {
			return &UntrustedError{Path: p, Reason: fmt.Sprintf("a parent directory writable by group or others without the sticky bit (mode %04o)", info.Mode().Perm())}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// ReadTrusted reads the cache file at path after [CheckDir] of its directory:
// the file is opened without following a symbolic link and must be a
// regular file owned by the effective user and not writable by group or
// others. A missing file or directory wraps [fs.ErrNotExist].
func ReadTrusted(path string) ([]byte, error) {
	if err := CheckDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, &UntrustedError{Path: path, Reason: "a symbolic link, not a file"}
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, &UntrustedError{Path: path, Reason: "not a regular file"}
	}
	if err := checkOwned(path, info, os.Geteuid()); err != nil {
		return nil, err
	}
	return readCapped(f, path)
}

// checkOwned is the rule for the cache directory and its entries: owned by
// euid, no write for group or others.
func checkOwned(path string, info fs.FileInfo, euid int) error {
	if uid := ownerOf(info); uid != euid {
		return &UntrustedError{Path: path, Reason: fmt.Sprintf("owned by uid %d, not by you (uid %d)", uid, euid)}
	}
	if info.Mode().Perm()&0o022 != 0 {
		return &UntrustedError{Path: path, Reason: fmt.Sprintf("writable by group or others (mode %04o)", info.Mode().Perm())}
	}
	return nil
}

func ownerOf(info fs.FileInfo) int {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

func ownedByMe(info fs.FileInfo) bool { return ownerOf(info) == os.Geteuid() }
