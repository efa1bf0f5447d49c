#!/usr/bin/env bash
# The still photographs `lipar train` turns into clips (synthetic pans and zooms): KDE Plasma's
# wallpapers (Debian package plasma-workspace-wallpapers, KDE Visual Design Group, GPL-2+),
# fetched with apt-get download (no install), scaled to a short side of 448 and stored as
# one-frame .y4m files (readable without FFmpeg, e.g. on a GPU machine).
#   packaging/prepare-nano-stills.sh OUT_DIR
set -euo pipefail
out="${1:?usage: prepare-nano-stills.sh OUT_DIR}"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download plasma-workspace-wallpapers >/dev/null)
dpkg -x "$tmp"/plasma-workspace-wallpapers_*.deb "$tmp/x"
for dir in "$tmp"/x/usr/share/wallpapers/*/; do
    name=$(basename "$dir")
    # The largest rendition of each wallpaper.
    img=$(ls "$dir"contents/images/* | awk -F/ '{split($NF, a, "x"); print a[1] * 1, $0}' | sort -n | tail -1 | cut -d' ' -f2-)
    ffmpeg -loglevel error -y -i "$img" -vf "scale=-2:448:flags=area,format=yuv420p" -frames:v 1 \
        -f yuv4mpegpipe "$out/still_$name.y4m"
done
echo "wrote $(ls "$out"/still_*.y4m | wc -l) stills to $out"
