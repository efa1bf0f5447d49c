#!/usr/bin/env bash
# Clips with known camera motion for motion-compensated pruning (issue 15, docs/QUALITY.md): a
# still of the held-out cups.mp4 (2 s in) seen through a 320x192 window that moves a known number
# of pixels per frame. The window is cut from the still at 4x and scaled down by 4 (box filter),
# so fractional motion such as 1.5 px per frame is exact. 48 frames each, y4m (lossless), 16 fps.
#   tests/quality/make_pan_clips.sh OUTDIR [CUPS_MP4]
#   pan4      content moves 4 px left per frame   (1 token per latent frame with 8x autoencoders)
#   pan_slow  1.5 px left per frame
#   pan_diag  2.5 px left and 1.5 px down per frame
#   split     two scenes side by side moving apart (per-tile motion, --motion local): the left
#             half (two parts of the still) moves 4 px left per frame, the right half 4 px right
set -euo pipefail
out=${1:?usage: make_pan_clips.sh OUTDIR [CUPS_MP4]}
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/data/clips/cups.mp4}
[ -f "$src" ] || { echo "make_pan_clips: $src not found" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "make_pan_clips: needs the ffmpeg program" >&2; exit 1; }
mkdir -p "$out"
still="$out/.still_4x.png"
ffmpeg -v error -y -ss 2 -i "$src" -frames:v 1 -vf scale=2880:1624:flags=lanczos "$still"
# name, content motion dx dy in video pixels per frame, window start at 4x
pan() {
    local name=$1 dx=$2 dy=$3 x0=$4 y0=$5
    ffmpeg -v error -y -loop 1 -framerate 16 -i "$still" -frames:v 48 \
        -vf "crop=1280:768:x='$x0-4*($dx)*n':y='$y0-4*($dy)*n',scale=320:192:flags=area,format=yuv420p" \
        -f yuv4mpegpipe "$out/$name.y4m"
    echo "$out/$name.y4m"
}
pan pan4 -4 0 400 400
pan pan_slow -1.5 0 400 400
pan pan_diag -2.5 1.5 400 500
ffmpeg -v error -y -loop 1 -framerate 16 -i "$still" -frames:v 48 -filter_complex \
    "[0]split[a][b];[a]crop=640:768:x='400+16*n':y=400,scale=160:192:flags=area[l];\
[b]crop=640:768:x='1900-16*n':y=300,scale=160:192:flags=area[r];[l][r]hstack,format=yuv420p" \
    -f yuv4mpegpipe "$out/split.y4m"
echo "$out/split.y4m"
rm -f "$still"
