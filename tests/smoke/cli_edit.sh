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
# the output is the input (same path, another path to it, a link to it): refused, input intact
cp "$clip" "$work/in.mp4"; sum=$(md5sum <"$work/in.mp4")
ln -s "$work/in.mp4" "$work/link.mp4"
expect_error "is the input" edit "$work/in.mp4" -o "$work/in.mp4" --pack "$work/pack"
expect_error "is the input" edit "$work/in.mp4" -o "$work/../$(basename "$work")/in.mp4" --pack "$work/pack"
expect_error "is the input" edit "$work/link.mp4" -o "$work/in.mp4" --pack "$work/pack"
[ "$(md5sum <"$work/in.mp4")" = "$sum" ] || { echo "the input changed"; exit 1; }
# an edit killed half-way leaves nothing under the output's name; an older file there survives
echo "previous result" >"$work/kept.mp4"
"$lipar" edit "$clip" -o "$work/kept.mp4" --frames 240 --size 128x64 --pack "$work/pack" \
    >"$work/kill.log" 2>&1 &
pid=$!
for _ in $(seq 200); do [ -s "$work/kept.partial.mp4" ] && break; sleep 0.05; done
kill -9 $pid; wait $pid 2>/dev/null || true
[ "$(cat "$work/kept.mp4")" = "previous result" ] || { echo "a killed edit replaced the output"; exit 1; }
"$lipar" edit "$clip" -o "$work/new.mp4" --frames 16 --size 128x64 --pack "$work/pack" >/dev/null 2>&1
[ -f "$work/new.mp4" ] && [ ! -e "$work/new.partial.mp4" ] || { echo "no rename at the end"; exit 1; }
# bench: FPS and DiT time are medians of --runs timed runs per mode, each run's FPS listed;
# --trace adds a profiled run per mode and prints where its time went
"$lipar" bench "$clip" --frames 12 --size 128x64 --pack "$work/pack" --runs 2 --warmup-blocks 1 --json \
    >"$work/bench.json" 2>"$work/bench.log" || { cat "$work/bench.log"; exit 1; }
[ "$(grep -c '"runs":2,"fps_runs":\[[0-9.e+-]*,[0-9.e+-]*\]' "$work/bench.json")" = 3 ] ||
    { echo "bench --runs 2: want 3 modes with two runs each"; cat "$work/bench.json"; exit 1; }
"$lipar" bench "$clip" --frames 12 --size 128x64 --pack "$work/pack" --runs 1 --warmup-blocks 0 \
    --trace "$work/trace" >"$work/trace.log" 2>&1 || { cat "$work/trace.log"; exit 1; }
for mode in off naive lipar; do
    grep -q "^trace $mode .*host events" "$work/trace.log" || { echo "no trace summary for $mode"; cat "$work/trace.log"; exit 1; }
done
expect_error "runs" bench "$clip" --runs 0 --pack "$work/pack"
# bench --gpus 1,2: both stage counts timed in one process, the two-stage output identical (where
# the build has c10d/Gloo; otherwise the one-line refusal)
if "$lipar" bench "$clip" --frames 12 --size 128x64 --pack "$work/pack" --runs 1 --warmup-blocks 0 --gpus 1,2 \
    >"$work/stages.log" 2>&1; then
    grep -qE "^1 +[0-9.]+ +1\.00x" "$work/stages.log" && grep -qE "^2 +[0-9.]+ .*identical$" "$work/stages.log" ||
        { echo "bench --gpus 1,2: rows missing or outputs differ"; cat "$work/stages.log"; exit 1; }
else
    grep -q "c10d" "$work/stages.log" || { cat "$work/stages.log"; exit 1; }
fi
# --split tokens: two token workers edit as one through the whole loop (decode, encode, mux). The
# matrix products of a worker's share of the tokens may round differently from the whole's (other
# row counts), so the frames are identical or within a rounding's distance (>= 50 dB).
if "$lipar" bench "$clip" --frames 16 --size 128x64 --pack "$work/pack" --runs 1 --warmup-blocks 0 --gpus 1,2 \
    --split tokens --mode off >"$work/tokens.log" 2>&1; then
    grep -qE "^2 +[0-9.]+ .*(identical|differs: ([5-9][0-9]|[1-9][0-9][0-9])\.[0-9]+ dB PSNR against 1)$" "$work/tokens.log" ||
        { echo "bench --gpus 1,2 --split tokens: outputs differ"; cat "$work/tokens.log"; exit 1; }
    "$lipar" edit "$clip" -o "$work/tokens.mp4" --mode lipar --prompt "a pencil sketch" --frames 16 --size 128x64 \
        --pack "$work/pack" --gpus 2 --split tokens >"$work/tokens_edit.log" 2>&1 || { cat "$work/tokens_edit.log"; exit 1; }
    grep -q "2 token workers" "$work/tokens_edit.log" && grep -q "16 read, 16 written" "$work/tokens_edit.log" ||
        { cat "$work/tokens_edit.log"; exit 1; }
else
    grep -q "c10d" "$work/tokens.log" || { cat "$work/tokens.log"; exit 1; }
fi
expect_error "layers or tokens" edit "$clip" -o "$work/x.mp4" --gpus 2 --split rows --pack "$work/pack"
expect_error "twice" bench "$clip" --gpus 2,2 --pack "$work/pack"
expect_error "one count" edit "$clip" -o "$work/x.mp4" --gpus 1,2 --pack "$work/pack"
# bench-dit --kept: one row per kept fraction, the kept counts as asked (no buckets on the CPU)
"$lipar" bench-dit --config tiny --device cpu --dtype f32 --size 256x128 --iters 1 --kept 1,0.5 \
    >"$work/dit.log" 2>&1 || { cat "$work/dit.log"; exit 1; }
grep -qE "^ +100% +384 " "$work/dit.log" && grep -qE "^ +50% +192 " "$work/dit.log" ||
    { echo "bench-dit --kept: rows missing"; cat "$work/dit.log"; exit 1; }
expect_error "kept" bench-dit --config tiny --device cpu --kept 1.5
# bench-dit in bf16 also times the bf16 residual stream and says how far its flow is from the float32 stream's
"$lipar" bench-dit --config tiny --device cpu --dtype bf16 --size 128x64 --iters 1 >"$work/dit16.log" 2>&1 ||
    { echo "bench-dit bf16 failed"; cat "$work/dit16.log"; exit 1; }
grep -qE "bf16 residual stream: median [0-9.]+ ms.*float32 stream [0-9.]+e-0[1-4]" "$work/dit16.log" ||
    { echo "bench-dit: bf16 residual row missing"; cat "$work/dit16.log"; exit 1; }
expect_error "residual" edit "$work/text.mp4" -o "$work/x.mp4" --pack "$work/pack" --residual bf16 --device cpu --dtype f32
expect_error "cuda-graphs" edit "$work/text.mp4" -o "$work/x.mp4" --pack "$work/pack" --cuda-graphs maybe
echo "cli edit smoke test passed"
