#!/bin/sh
# Runs a GUI test program on a virtual display (Xvfb, through xvfb-run) with
# its own session bus and an unlocked Secret Service (gnome-keyring, for the
# "remember unlock" cases), as a desktop session would give it.
#   run-gui-test.sh PROGRAM ARGS...
# The keyring lives in a throw-away folder (XDG_DATA_HOME, XDG_RUNTIME_DIR):
# a test never reads or writes the keyring of whoever runs it, and two runs
# at once do not share one.
set -e
# Under the sanitizer build (.ci/run) leaks are not checked in GUI programs:
# GTK, fontconfig and Mesa keep caches for the process's life that
# LeakSanitizer reports; memory errors are still fatal.
if [ -n "${ASAN_OPTIONS:-}" ]; then
  export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"
fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/mts-gui-test-XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
mkdir -m 0700 "$scratch/data" "$scratch/runtime"
export XDG_DATA_HOME="$scratch/data" XDG_RUNTIME_DIR="$scratch/runtime"
status=0
xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" \
  dbus-run-session -- sh -c '
    if command -v gnome-keyring-daemon >/dev/null 2>&1; then
      printf "test keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || true
    fi
    exec "$@"' run-gui-test "$@" || status=$?
exit $status
