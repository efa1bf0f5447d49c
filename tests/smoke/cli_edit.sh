#!/usr/bin/env bash
# `lipar edit` on 16 frames of a shared clip in every mode, plus the one-line errors on bad input.
set -euo pipefail
build="${LIPAR_BUILD_DIR:?}"; shared="${LIPAR_SHARED_DIR:?}"
lipar="$build/app/lipar"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$lipar" pack init-random --config tiny --out "$work/pack" --seed 1 >/dev/null
clip="$shared/data/clips/chaplin.mp4"   # has an audio track
for mode in off naive lipar compare; do
    "$lipar" edit "$clip" -o "$work/$mode.mp4" --mode "$mode" --prompt "a pencil sketch" \
        --frames 16 --size 128x64 --pack "$work/pack" >"$work/$mode.log" 2>&1 ||
        { cat "$work/$mode.log"; exit 1; }
    grep -q "16 read, 16 written" "$work/$mode.log" || { cat "$work/$mode.log"; exit 1; }
    frames=$(ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames,width \
             -of csv=p=0 "$work/$mode.mp4")
    want_w=128; [ "$mode" = compare ] && want_w=256
    [ "$frames" = "$want_w,16" ] || { echo "$mode: got '$frames', want '$want_w,16'"; exit 1; }
    audio=$(ffprobe -v error -select_streams a -show_entries stream=codec_type -of csv=p=0 "$work/$mode.mp4")
    [ "$audio" = audio ] || { echo "$mode: the source's audio track was not carried"; exit 1; }
done
grep -q "compare .*baseline .* vs LIPAR" "$work/compare.log"
# bad input: one line on stderr, non-zero exit, no crash
expect_error() {  # expect_error PATTERN ARGS...
    local pattern="$1"; shift
    set +e; out=$("$lipar" "$@" 2>&1); rc=$?; set -e
    [ $rc -ne 0 ] && [ $rc -lt 128 ] || { echo "rc $rc for: $*"; exit 1; }
    [ "$(wc -l <<<"$out")" -eq 1 ] || { echo "not one line for: $*"; echo "$out"; exit 1; }
    grep -q "$pattern" <<<"$out" || { echo "message '$out' lacks '$pattern'"; exit 1; }
}
echo "not a video" >"$work/text.mp4"
expect_error "missing.mp4" edit "$work/missing.mp4" -o "$work/x.mp4" --pack "$work/pack"
expect_error "text.mp4" edit "$work/text.mp4" -o "$work/x.mp4" --pack "$work/pack"
expect_error "mode" edit "$clip" -o "$work/x.mp4" --mode fast --pack "$work/pack"
expect_error "tau1" edit "$clip" -o "$work/x.mp4" --tau1 abc --pack "$work/pack"
expect_error "manifest.json" edit "$clip" -o "$work/x.mp4" --pack "$work"
expect_error ".avi" edit "$clip" -o "$work/x.avi" --pack "$work/pack"
echo "cli edit smoke test passed"
