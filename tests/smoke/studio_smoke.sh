#!/usr/bin/env bash
# lipar-studio under Xvfb: a tiny random pack, a real clip in compare mode, a screenshot of the
# main window after 15 output frames; checks exit code 0 and that the preview is not blank.
# Env (set by ctest): LIPAR_BUILD_DIR, LIPAR_SHARED_DIR, LIPAR_SOURCE_DIR. Set LIPAR_SMOKE_KEEP=DIR
# to keep the screenshots and logs in DIR.
set -euo pipefail

build=${LIPAR_BUILD_DIR:?set LIPAR_BUILD_DIR}
shared=${LIPAR_SHARED_DIR:?set LIPAR_SHARED_DIR}
source_dir=${LIPAR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
studio=$build/app/lipar-studio
clip=$shared/data/clips/dog_grass_832x480.mp4

if [[ ! -x $studio ]]; then
    echo "SKIP: $studio was not built (no Qt 6?)"
    exit 0
fi
for tool in xvfb-run python3 timeout; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: $tool is not installed"
        exit 0
    fi
done
[[ -f $clip ]] || { echo "FAIL: missing clip $clip"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=${LIPAR_SMOKE_KEEP:-$work/out}
mkdir -p "$out"
# Keep the user's settings and caches out of it.
export XDG_CONFIG_HOME=$work/config XDG_CACHE_HOME=$work/cache

pack=$work/pack
if "$build/app/lipar" pack init-random --config tiny --out "$pack" >"$out/pack.log" 2>&1; then
    echo "pack: lipar pack init-random"
elif [[ -x $build/tests/ui/lipar_ui_make_pack ]]; then
    rm -rf "$pack"
    "$build/tests/ui/lipar_ui_make_pack" "$pack" 7 >"$out/pack.log" 2>&1
    echo "pack: lipar_ui_make_pack"
else
    echo "FAIL: no way to create a random pack"; cat "$out/pack.log"; exit 1
fi
[[ -f $pack/manifest.json ]] || { echo "FAIL: no manifest.json in $pack"; exit 1; }

run_studio() {  # name mode extra-args...
    local name=$1 mode=$2
    shift 2
    local status=0
    timeout 600 xvfb-run -a -s "-screen 0 1600x1000x24" "$studio" \
        --source "$clip" --prompt "a watercolor painting" --mode "$mode" --pack "$pack" \
        --resolution 128x64 --device cpu --autostart --quit-after-frames 15 \
        --screenshot "$out/$name.png" "$@" >"$out/$name.stdout" 2>"$out/$name.stderr" || status=$?
    cat "$out/$name.stdout"
    if [[ $status -ne 0 ]]; then
        echo "FAIL: lipar-studio ($name) exited with $status"
        tail -n 30 "$out/$name.stderr"
        exit 1
    fi
    [[ -s $out/$name.png ]] || { echo "FAIL: no screenshot $out/$name.png"; exit 1; }
    python3 "$source_dir/tests/smoke/png_preview_check.py" "$out/$name.png" "$out/$name.stdout" 2
}

run_studio studio_compare compare
run_studio studio_lipar lipar --record "$out/studio_lipar.mkv"
[[ -s $out/studio_lipar.mkv ]] || { echo "FAIL: --record wrote nothing"; exit 1; }
echo "PASS: lipar-studio smoke (screenshots in $out)"
