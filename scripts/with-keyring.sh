#!/usr/bin/env bash
# Run "$@" against a real, throwaway Secret Service: gnome-keyring-daemon on the
# current (private) D-Bus session bus, unlocked with a throwaway password.
#
#   dbus-run-session -- scripts/with-keyring.sh go test -tags keyring ./internal/cache/...
#
# Needs the Debian packages gnome-keyring and dbus (libsecret-tools for
# secret-tool, which the integration test uses to list items). Never install
# dbus-x11: with it go-keyring autolaunches a bus that outlives the test.
set -euo pipefail

if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  echo "with-keyring.sh: no D-Bus session bus; run it under dbus-run-session --" >&2
  exit 2
fi

scratch="$(mktemp -d)"
cleanup() { rm -rf "$scratch"; }
trap cleanup EXIT

export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$scratch/run}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
export XDG_DATA_HOME="$scratch/data"          # throwaway keyrings; HOME and Go's caches stay untouched
mkdir -p "$XDG_DATA_HOME/keyrings" && chmod -R 700 "$XDG_DATA_HOME"

# --unlock reads the password from stdin and creates/unlocks the "login" keyring.
printf 'test-password' | gnome-keyring-daemon --unlock --components=secrets >/dev/null

# Wait until the daemon owns org.freedesktop.secrets on this bus (up to 5 s).
owned=false
for _ in $(seq 50); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; then
    owned=true
    break
  fi
  sleep 0.1
done
if [ "$owned" != true ]; then
  echo "with-keyring.sh: gnome-keyring-daemon did not claim org.freedesktop.secrets" >&2
  exit 1
fi

# Not exec: the trap removes the scratch keyrings once the command is done.
# gnome-keyring-daemon exits with the session bus that dbus-run-session tears down.
"$@"
