#!/usr/bin/env bash
# The Debian package: built with CPack, its desktop entry and AppStream metainfo valid, installed
# with apt-get (as root; skipped otherwise), `lipar --version` and a short edit with the installed
# default pack, then removed cleanly.
set -euo pipefail
build="${LIPAR_BUILD_DIR:?}"; shared="${LIPAR_SHARED_DIR:?}"; src="${LIPAR_SOURCE_DIR:?}"
desktop-file-validate "$src/resources/lipar-studio.desktop"
appstreamcli validate --no-net "$src/resources/org.liparstudio.LiparStudio.metainfo.xml" >/dev/null
[ "$(id -u)" = 0 ] || { echo "installing a package needs root: skipped"; exit 77; }
if dpkg-query -W -f='${Status}' lipar-studio 2>/dev/null | grep -q "ok installed"; then
    echo "lipar-studio is already installed here; not touching it"; exit 77
fi
(cd "$build" && cpack -G DEB -B "$build/package" >/dev/null)
deb=$(ls "$build"/package/lipar-studio_*_amd64.deb)
dpkg-deb -c "$deb" >"$build/package/contents.txt"
for f in ./usr/bin/lipar ./usr/share/man/man1/lipar.1.gz ./usr/share/applications/lipar-studio.desktop \
         ./usr/share/metainfo/org.liparstudio.LiparStudio.metainfo.xml \
         ./usr/share/icons/hicolor/scalable/apps/lipar-studio.svg \
         ./usr/share/lipar-studio/packs/default/manifest.json ./usr/lib/lipar-studio/liblipar_spm.so; do
    grep -q " $f" "$build/package/contents.txt" || { echo "missing in the package: $f"; exit 1; }
done
dpkg-deb -f "$deb" Depends | grep -q libtorch || { echo "no computed dependencies"; exit 1; }
trap 'apt-get purge -y -q lipar-studio >/dev/null 2>&1 || true' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$deb" >/dev/null
[ "$(/usr/bin/lipar --version)" = "lipar 0.1.0" ] || { /usr/bin/lipar --version; exit 1; }
[ "$(/usr/bin/lipar-studio --version)" = "lipar-studio 0.1.0" ] || { echo "studio --version"; exit 1; }
work=$(mktemp -d); trap 'apt-get purge -y -q lipar-studio >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
# No --pack and no LIPAR_PACK: the installed Nano pack is found beside the program.
(cd "$work" && env -u LIPAR_PACK /usr/bin/lipar info 2>&1 | grep -q "directory   /usr/share/lipar-studio/packs/default") ||
    { /usr/bin/lipar info; exit 1; }
env -u LIPAR_PACK /usr/bin/lipar edit "$shared/data/clips/chaplin.mp4" -o "$work/out.mp4" --frames 12 \
    --prompt "night vision" >"$work/edit.log" 2>&1 || { cat "$work/edit.log"; exit 1; }
grep -q "12 read, 12 written" "$work/edit.log" || { cat "$work/edit.log"; exit 1; }
grep -q "model          nano" "$work/edit.log" || { cat "$work/edit.log"; exit 1; }
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q lipar-studio >/dev/null
[ ! -e /usr/bin/lipar ] && [ ! -e /usr/share/lipar-studio ] || { echo "files left after removal"; exit 1; }
! dpkg-query -W lipar-studio >/dev/null 2>&1 || { echo "dpkg still knows the package"; exit 1; }
echo "deb package smoke test passed"
