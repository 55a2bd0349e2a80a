#!/bin/sh
# Validates the app's desktop integration files, each with its own tool:
#   test-data-files.sh DESKTOP METAINFO GSCHEMA ICON
# desktop-file-validate (desktop-file-utils), appstreamcli validate
# (appstream; --no-net: no network here), glib-compile-schemas --strict, and
# the icon rendered by rsvg-convert (librsvg2-bin).  Each
# is also run on a broken copy, which must fail: a validator that accepts
# anything proves nothing.
desktop=$1 metainfo=$2 gschema=$3 icon=$4
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n+1)); echo "ok $n - $1"; }
not_ok() { n=$((n+1)); failed=1; echo "not ok $n - $1"; sed 's/^/# /' "$tmp/out"; }
check() { # NAME COMMAND...
  name=$1; shift
  if "$@" >"$tmp/out" 2>&1; then ok "$name"; else not_ok "$name"; fi
}
refuse() { # NAME COMMAND...: must fail
  name=$1; shift
  if "$@" >"$tmp/out" 2>&1; then not_ok "$name"; else ok "$name"; fi
}

echo "1..8"
check "desktop file valid" desktop-file-validate "$desktop"
sed 's/^Type=Application/Type=Nonsense/' "$desktop" > "$tmp/bad.desktop"
refuse "desktop file with a bad Type refused" desktop-file-validate "$tmp/bad.desktop"

check "metainfo valid" appstreamcli validate --no-net --explain "$metainfo"
sed 's|<id>[^<]*</id>||' "$metainfo" > "$tmp/bad.metainfo.xml"
refuse "metainfo without an id refused" appstreamcli validate --no-net "$tmp/bad.metainfo.xml"

mkdir "$tmp/schemas" "$tmp/badschemas"
cp "$gschema" "$tmp/schemas/"
check "GSettings schema compiles strictly" glib-compile-schemas --strict --dry-run "$tmp/schemas"
sed 's|<default>600</default>|<default>-1</default>|' "$gschema" > "$tmp/badschemas/bad.gschema.xml"
refuse "schema with a default out of range refused" glib-compile-schemas --strict --dry-run "$tmp/badschemas"

check "icon renders at 128 px" rsvg-convert -w 128 -h 128 -o "$tmp/icon.png" "$icon"
head -c 200 "$icon" > "$tmp/bad.svg"
refuse "truncated icon refused" rsvg-convert -w 128 -h 128 -o "$tmp/bad.png" "$tmp/bad.svg"
exit $failed
