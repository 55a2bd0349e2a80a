#!/bin/sh
# Runs a GUI test program on a virtual display (Xvfb, through xvfb-run) with
# its own session bus and an unlocked Secret Service (gnome-keyring, for the
# "remember unlock" cases), as a desktop session would give it.
#   run-gui-test.sh PROGRAM ARGS...
set -e
# Under the sanitizer build (.ci/run) leaks are not checked in GUI programs:
# GTK, fontconfig and Mesa keep caches for the process's life that
# LeakSanitizer reports; memory errors are still fatal.
if [ -n "${ASAN_OPTIONS:-}" ]; then
  export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"
fi
exec xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" \
  dbus-run-session -- sh -c '
    if command -v gnome-keyring-daemon >/dev/null 2>&1; then
      printf "test keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || true
    fi
    exec "$@"' run-gui-test "$@"
