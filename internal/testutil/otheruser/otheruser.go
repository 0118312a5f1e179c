// Package otheruser lets a test act as a second local user (uid 65534,
// "nobody"), the attacker of the cache trust checks: it plants files with
// `setpriv --reuid 65534` or hands them over with chown. Both need root; a
// test that cannot run them is skipped with that reason.
package otheruser

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// UID is the second user's uid (and gid).
const UID = 65534

// Require skips t unless it runs as root with setpriv installed.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("acting as a second user (uid %d) needs root; running as uid %d", UID, os.Geteuid())
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skipf("acting as a second user needs setpriv (util-linux): %v", err)
	}
}

// SharedDir returns a new directory that every user may create entries in,
// mode 1777 like /tmp, whose ancestors pass the trust checks: the place
// where an attacker pre-creates a victim's cache directory.
func SharedDir(t testing.TB) string {
	t.Helper()
	Require(t)
	base, err := os.MkdirTemp("", "otheruser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	shared := filepath.Join(base, "shared")
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, os.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	return shared
}

// Run runs the shell script as the second user; args are $1, $2, ....
func Run(t testing.TB, script string, args ...string) {
	t.Helper()
	Require(t)
	argv := append([]string{"--reuid", "65534", "--regid", "65534", "--clear-groups", "sh", "-c", script, "sh"}, args...)
	out, err := exec.Command("setpriv", argv...).CombinedOutput()
	if err != nil {
		t.Fatalf("setpriv as uid %d: %v\n%s", UID, err, out)
	}
}

// Chown makes path owned by the second user.
func Chown(t testing.TB, path string) {
	t.Helper()
	Require(t)
	if err := os.Lchown(path, UID, UID); err != nil {
		t.Fatal(err)
	}
}
