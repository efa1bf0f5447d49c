#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) into build-fuzz/ and runs each for SECONDS,
# seeded from the project's own test files; prints executions per second and coverage per target
# and fails on any crash, leak, timeout or out-of-memory (the reproducer is kept in
# build-fuzz/artifacts/).
#   tests/fuzz/run.sh SECONDS [json safetensors torch_checkpoint pickle y4m pack]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:?usage: tests/fuzz/run.sh SECONDS [TARGET ...]}"
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(json safetensors torch_checkpoint pickle y4m pack)
build="${LIPAR_FUZZ_BUILD:-build-fuzz}"  # ctest passes its own (build/fuzz)
command -v clang++ >/dev/null || { echo "fuzz: clang++ is not installed (apt-get install clang)"; exit 1; }
mkdir -p "$build"
if [ ! -f "$build/build.ninja" ]; then
    cmake -S tests/fuzz -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_COMPILER_LAUNCHER="$(command -v ccache || true)" \
        >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
fi
extra=""; [[ " ${targets[*]} " == *" pack "* ]] && extra=make_pack_seed
cmake --build "$build" -- $(printf 'fuzz_%s ' "${targets[@]}") $extra >"$build/build.log" 2>&1 ||
    { tail -40 "$build/build.log"; exit 1; }

# Seed corpora: the project's own test files.
seeds="$build/seeds.$$"  # per run: two runs may fuzz different targets at once
trap 'rm -rf "$seeds"' EXIT
mkdir -p "$seeds"/{json,safetensors,torch_checkpoint,pickle,y4m,pack}
i=0; for f in resources/packs/*/manifest.json tests/data/*.json; do
    [ -f "$f" ] && cp "$f" "$seeds/json/m$((i++)).json"; done
for f in tests/data/*.safetensors; do
    # The header and a little data: the rest of a big file only slows the fuzzer.
    head -c 65536 "$f" >"$seeds/safetensors/$(basename "$f")"; done
python3 - "$seeds/safetensors/small.safetensors" <<'PY'
import struct, sys
h = b'{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + struct.pack("<2f", 1.5, -2.0))
PY
cp tests/data/*.pth "$seeds/torch_checkpoint/"
# The pickles inside the checkpoints (data.pkl of each zip archive).
for f in tests/data/*.pth; do
    python3 -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for n in z.namelist():
    if n.endswith(".pkl"): open(sys.argv[2] + "_" + n.replace("/", "_"), "wb").write(z.read(n))' \
        "$f" "$seeds/pickle/$(basename "$f")" 2>/dev/null || true
done
python3 - "$seeds/y4m" <<'PY'
import sys
d = sys.argv[1]
w, h = 8, 6
for name, c, n in (("c420.y4m", "C420jpeg", w * h * 3 // 2), ("c444.y4m", "C444", w * h * 3),
                   ("mono.y4m", "Cmono", w * h)):
    frame = bytes((i * 7) & 255 for i in range(n))
    open(f"{d}/{name}", "wb").write(b"YUV4MPEG2 W%d H%d F25:1 Ip A1:1 %s\n" % (w, h, c.encode()) +
                                    (b"FRAME\n" + frame) * 3)
PY
# The pack target: a manifest, "--dit--", a tiny DiT's weights.
if [ -n "$extra" ]; then
    ASAN_OPTIONS=detect_leaks=0 "$build/make_pack_seed" "$seeds/pack/tiny_dit_pack" ||
        { echo "fuzz: make_pack_seed failed"; exit 1; }
    for f in resources/packs/*/manifest.json; do
        [ -f "$f" ] && { cat "$f"; printf '\n--dit--\n'; } >"$seeds/pack/$(basename "$(dirname "$f")")"; done
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0:alloc_dealloc_mismatch=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$build/artifacts" "$build/corpus"
status=0
printf '%-18s %10s %8s %8s %8s  %s\n' target execs exec/s cov ft result
for t in "${targets[@]}"; do
    mkdir -p "$build/corpus/$t"
    log="$build/fuzz_$t.log"
    if "$build/fuzz_$t" "$build/corpus/$t" "$seeds/$t" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2560 -malloc_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/${t}-" >"$log" 2>&1; then
        result=ok
    else
        result="FAILED (see $log)"
        status=1
    fi
    execs=$(grep -E "^stat::number_of_executed_units" "$log" | awk '{print $2}' | tail -1)
    speed=$(grep -E "^stat::average_exec_per_sec" "$log" | awk '{print $2}' | tail -1)
    cov=$(grep -oE "cov: [0-9]+" "$log" | tail -1 | awk '{print $2}')
    ft=$(grep -oE "ft: [0-9]+" "$log" | tail -1 | awk '{print $2}')
    printf '%-18s %10s %8s %8s %8s  %s\n' "$t" "${execs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "$result" |
        tee -a "$build/report.txt"  # every run's rows, kept
    [ "$result" = ok ] || grep -E "ERROR|SUMMARY|==[0-9]+==|runtime error|deadly signal" "$log" | head -12
done
exit $status
