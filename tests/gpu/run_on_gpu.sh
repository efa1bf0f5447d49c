#!/usr/bin/env bash
# Builds the engine, CLI and GPU tests against the GPU machine's LibTorch 2.x (CUDA) and runs the
# GPU checks and benchmarks named on the command line. Results go to $OUT (default ./gpu-out).
#   tests/gpu/run_on_gpu.sh build tests bench-dit
# The device tool carries .gpu/ (gitignored), prepared here on the Debian machine:
#   .gpu/googletest       cp -r /usr/src/googletest .gpu/
#   .gpu/shared/...       the clip, taef2 weights and test_latents_wan.pth the steps name
#                         (data/clips/dog_grass_832x480.mp4, models/taef2/*.safetensors)
#   .gpu/wan_ref/model.py the official Wan2.1 model file (parity-dit only)
#   .gpu/spm/             build/lib/liblipar_spm.so, libsentencepiece{,_train}.so.0, spm_train and
#                         spm.model trained with the flags of tests/unit/text_test_util.h
#   .gpu/clips/           the training clips of the Nano pack (copies of ../shared/data/clips:
#                         every clip but the OpenCV sample tree.avi)
#   .gpu/stills/          packaging/prepare-nano-stills.sh .gpu/stills
#   .gpu/self_forcing/    wan/modules, utils, pipeline, demo_utils of a github.com/guandeh17/Self-Forcing
#                         checkout (parity-loop, parity-pruned, time-reference)
#   .gpu/nano_work/       autoencoder.safetensors for `lipar train --stage editor` (optional)
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-$PWD/gpu-out}"
mkdir -p "$OUT"
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }
CLIP_Y4M="$PWD/.gpu/shared/data/clips/dog_grass_832x480.y4m"
# The GPU machine has no SentencePiece: the shim, Debian's libsentencepiece (plain C API between
# them and us, so the Debian build runs on Ubuntu's newer glibc) and spm_train are carried in
# .gpu/spm, with a model trained on tests/data/spm_corpus.txt.
if [ -f .gpu/spm/liblipar_spm.so ]; then
    export LIPAR_SPM_LIBRARY="$PWD/.gpu/spm/liblipar_spm.so"
    export LD_LIBRARY_PATH="$PWD/.gpu/spm${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    SPM_TRAIN_FLAG="-DLIPAR_SPM_TRAIN=$PWD/.gpu/spm/spm_train"
else
    SPM_TRAIN_FLAG=""
fi

# The clip as y4m (no FFmpeg there): the runtime tests and benches read it.
make_clip() {
    [ -f "$CLIP_Y4M" ] && return 0
    python3 - "$CLIP_Y4M" <<'PY'
import sys, cv2
cap = cv2.VideoCapture(".gpu/shared/data/clips/dog_grass_832x480.mp4")
with open(sys.argv[1], "wb") as f:
    f.write(b"YUV4MPEG2 W832 H480 F16:1 Ip A1:1 C420jpeg\n")
    while True:
        ok, bgr = cap.read()
        if not ok: break
        f.write(b"FRAME\n" + cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).tobytes())
PY
}

# Training clips as y4m (short side 224) and the stills, once per machine.
prepare_nano_data() {
    [ -f /tmp/nano_data/.done ] && return 0
    log "Nano training data: clips to y4m (short side 224) + stills"
    rm -rf /tmp/nano_data && mkdir -p /tmp/nano_data
    python3 tests/gpu/prepare_nano_clips.py /tmp/nano_data 224 .gpu/clips/* 2>&1 | tee -a "$OUT/summary.txt"
    cp .gpu/stills/*.y4m /tmp/nano_data/
    touch /tmp/nano_data/.done
}

build() {
    local prefix
    prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$OUT/summary.txt"
    cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
        -DLIPAR_WITH_QT=OFF -DLIPAR_WITH_SPDLOG=OFF -DLIPAR_GTEST_SOURCE_DIR="$PWD/.gpu/googletest" \
        -DLIPAR_SHARED_DIR="$PWD/.gpu/shared" $SPM_TRAIN_FLAG \
        -DCMAKE_CUDA_ARCHITECTURES=90 >"$OUT/cmake.log" 2>&1 || { tail -30 "$OUT/cmake.log"; return 1; }
    grep -E "^-- +(LibTorch|FFmpeg|OpenCV|spdlog|Qt)" "$OUT/cmake.log" | tee -a "$OUT/summary.txt"
    local t0=$SECONDS
    ninja -C build-gpu -j16 ${BUILD_TARGETS:-} >"$OUT/build.log" 2>&1 || { grep -E "error|Error" "$OUT/build.log" | head -40; return 1; }
    log "build ok in $((SECONDS - t0)) s"
    make_clip
}

# The random 1.3B DiT with the Nano pack's trained TAEHV-layout autoencoder, whose real latents
# give real kept ratios (/tmp/pack13nae).
nano_ae_pack() {
    [ -d /tmp/pack13 ] || build-gpu/app/lipar pack init-random --config wan-1.3b --out /tmp/pack13 --seed 0 | tail -1
    if [ ! -d /tmp/pack13nae ]; then
        cp -r /tmp/pack13 /tmp/pack13nae
        python3 - /tmp/pack13nae resources/packs/nano/autoencoder.safetensors <<'PY'
import json, shutil, sys
d, ae = sys.argv[1], sys.argv[2]
m = json.load(open(d + "/manifest.json"))
m["autoencoder"] = {"kind": "taehv", "weights": "nano_autoencoder.safetensors"}
m["name"] = m.get("name", "pack") + "+nano-autoencoder"
json.dump(m, open(d + "/manifest.json", "w"), indent=2)
shutil.copy(ae, d + "/nano_autoencoder.safetensors")
PY
    fi
}

for step in "$@"; do
    case "$step" in
        build) build || exit 1 ;;
        tests)
            log "gpu tests"
            ./build-gpu/tests/lipar_gpu_tests 2>&1 | tee "$OUT/gpu_tests.log" | grep -E "^\[  (PASSED|FAILED) |OK \]|FAILED|Failure|error" | tail -40
            ;;
        placement-lipar)
            # The CUDA/CPU placement test that crashed in lipar mode (tests/gpu/gpu_placement_test.cpp):
            # once as is, then under a debugger for the backtrace when it crashes.
            log "placement across CUDA/CPU in lipar (disabled test)"
            t=./build-gpu/tests/lipar_gpu_tests
            f='--gtest_filter=GpuPlacement.*lipar* --gtest_also_run_disabled_tests'
            if ! $t $f > "$OUT/placement_lipar.log" 2>&1; then
                tail -5 "$OUT/placement_lipar.log"
                dbg=$(command -v gdb || echo /usr/local/cuda/bin/cuda-gdb)
                timeout 300 "$dbg" -batch -ex run -ex bt -ex "info sharedlibrary" -ex "thread apply all bt 12" \
                    --args $t $f > "$OUT/placement_lipar_bt.log" 2>&1
                grep -A30 "received signal" "$OUT/placement_lipar_bt.log" | head -40
            else
                grep -E "^\[ info \]|OK \]" "$OUT/placement_lipar.log"
            fi
            ;;
        unit)
            log "unit tests on the GPU machine's LibTorch (one process per test, so a crash names its test)"
            ctest --test-dir build-gpu -L unit -j 16 --timeout 120 --output-on-failure ${UNIT_FILTER:+-R "$UNIT_FILTER"} 2>&1 | tee "$OUT/unit_tests.log" | grep -E "tests passed|tests failed|\*\*\*|Failed|SEGFAULT|Timeout" | tail -25
            grep -A14 "fatal signal" "$OUT/unit_tests.log" | head -60
            ;;
        bench-dit)
            log "bench-dit (1.3B random, bf16, 480x832)"
            ./build-gpu/app/lipar bench-dit --config wan-1.3b --device cuda --dtype bf16 --size 832x480 \
                --iters 10 --kept ${DIT_KEPT:-1,0.8,0.6,0.4,0.2} 2>&1 | tee "$OUT/bench_dit.txt"
            ;;
        parity-dit)
            log "DiT parity with the official Wan2.1 model.py (carried in .gpu/wan_ref)"
            python3 tests/gpu/wan_dit_parity.py .gpu/wan_ref/model.py build-gpu/app/lipar "$OUT/parity" 2>&1 | tee "$OUT/parity_dit.txt" | grep -E "PASS|FAIL|Error|error" | tail -5
            ;;
        parity-t5)
            log "UMT5 parity with Hugging Face transformers"
            LIPAR_BIN=build-gpu/app/lipar bash tests/gpu/t5_parity.sh /tmp/t5_parity 2>&1 | tee "$OUT/parity_t5.txt" | grep -iE "rel|pass|fail|error" | tail -14
            ;;
        ckpt)
            log "torch.save reader against real torch output"
            python3 tests/gpu/make_torch_checkpoint.py --out /tmp/ckpt >/dev/null &&
            build-gpu/app/lipar convert /tmp/ckpt/torch_nested.pth /tmp/ckpt/converted.safetensors &&
            python3 tests/gpu/make_torch_checkpoint.py --check /tmp/ckpt/converted.safetensors \
                --expected /tmp/ckpt/torch_nested_expected.safetensors 2>&1 | tee "$OUT/ckpt.txt" | tail -3
            ;;
        packs)
            log "random 1.3B packs (TAEHV random; taef2 real)"
            build-gpu/app/lipar pack init-random --config wan-1.3b --out /tmp/pack13 --seed 0 | tail -2
            build-gpu/app/lipar pack init-random --config wan-1.3b --out /tmp/pack13f2 --seed 0 \
                --autoencoder "taesd:.gpu/shared/models/taef2/taef2_encoder.safetensors,.gpu/shared/models/taef2/taef2_decoder.safetensors" | tail -2
            ;;
        bench-lipar)
            log "lipar bench: real Wan latents (test_latents_wan.pth), 1.3B random DiT, bf16"
            build-gpu/app/lipar bench --latents .gpu/shared/models/test_latents_wan.pth --pack /tmp/pack13 --device cuda 2>&1 | tee "$OUT/bench_latents.txt" | tail -5
            log "lipar bench: dog_grass 480x832, 48 frames, 1.3B random DiT + TAEHV random, bf16"
            build-gpu/app/lipar bench "$CLIP_Y4M" --frames 48 --pack /tmp/pack13 --device cuda 2>&1 | tee "$OUT/bench_taehv.txt" | tail -5
            log "lipar bench: dog_grass 480x832, 48 frames, 1.3B random DiT (32 ch) + taef2, bf16"
            build-gpu/app/lipar bench "$CLIP_Y4M" --frames 48 --pack /tmp/pack13f2 --device cuda 2>&1 | tee "$OUT/bench_taef2.txt" | tail -5
            ;;
        bench-throughput)
            # Issue 12: the real-autoencoder pack (taef2, 32 channels, random 1.3B DiT) on the
            # 480x832 clip, three timed runs per mode (medians), both protocols, shape buckets of
            # 128 against exact kept counts, and one profiled run per mode (kernel time by kind).
            # THROUGHPUT_PACK=taehv times the TAEHV-architecture pack (random 1.3B DiT + random TAEHV,
            # 16 channels) that the issue's 60/85 fps targets name.
            [ -d /tmp/pack13f2 ] || build-gpu/app/lipar pack init-random --config wan-1.3b --out /tmp/pack13f2 --seed 0 \
                --autoencoder "taesd:.gpu/shared/models/taef2/taef2_encoder.safetensors,.gpu/shared/models/taef2/taef2_decoder.safetensors" | tail -1
            # THROUGHPUT_PACK=nano-ae: the same random DiT with the Nano pack's trained TAEHV-layout
            # autoencoder (narrower than TAEHV), whose real latents give real kept ratios.
            tpack=/tmp/pack13f2; tname=taef2
            if [ "${THROUGHPUT_PACK:-taef2}" != taef2 ]; then
                [ -d /tmp/pack13 ] || build-gpu/app/lipar pack init-random --config wan-1.3b --out /tmp/pack13 --seed 0 | tail -1
                tpack=/tmp/pack13; tname=taehv
            fi
            if [ "${THROUGHPUT_PACK:-taef2}" = nano-ae ]; then
                nano_ae_pack
                tpack=/tmp/pack13nae; tname=nano-ae
            fi
            for variant in ${THROUGHPUT_VARIANTS:-same:-1:trace paper:-1: same:0:}; do
                IFS=: read -r protocol bucket trace <<<"$variant"
                log "bench $tname dog_grass 480x832 48 frames, protocol $protocol, kept bucket $bucket ${trace:+(+ profiled run)}"
                build-gpu/app/lipar bench "$CLIP_Y4M" --frames ${THROUGHPUT_FRAMES:-48} --pack $tpack --device cuda \
                    --protocol $protocol --kept-bucket $bucket --runs 3 ${trace:+--trace /tmp/trace_$protocol} ${THROUGHPUT_ARGS:-} \
                    2>&1 | tee "$OUT/bench_${protocol}_bucket${bucket}${THROUGHPUT_TAG:-}.txt" | grep -vE "^\s+[0-9.]+ ms +[0-9]+ x" | tail -30
            done
            ;;
        bench-motion)
            # Issue 15: motion compensation where LIPAR pays: the random 1.3B DiT with the Nano
            # autoencoder (real kept ratios) at 832x480 on the clips of tests/quality/make_pan_clips.sh
            # carried in .gpu/clips_motion (MOTION_CLIPS), --motion off|global|local, medians of 3.
            nano_ae_pack
            for c in ${MOTION_CLIPS:-pan4 split chaplin48}; do
                for m in off global local; do
                    log "bench-motion $c --motion $m (random 1.3B + Nano autoencoder, 832x480)"
                    build-gpu/app/lipar bench .gpu/clips_motion/$c.y4m --frames ${MOTION_FRAMES:-48} --pack /tmp/pack13nae \
                        --device cuda --size 832x480 --motion $m --runs 3 2>&1 | tee "$OUT/bench_motion_${c}_$m.txt" | \
                        grep -E "^(off|naive|lipar) |FPS of each" | tee -a "$OUT/summary.txt"
                done
            done
            ;;
        text-pack)
            log "random 1.3B pack + full-width UMT5 (2 layers) through the real SentencePiece tokenizer"
            build-gpu/app/lipar pack init-random --config wan-1.3b --out /tmp/pack13t5 --seed 0 \
                --text umt5:.gpu/spm/spm.model --text-layers 2 2>&1 | tail -2
            build-gpu/app/lipar info /tmp/pack13t5 --device cuda 2>&1 | tee "$OUT/info_t5.txt" | tail -12
            export XDG_CACHE_HOME=/tmp/lipar-cache
            rm -rf /tmp/lipar-cache
            log "edit (first run: the prompt is encoded by UMT5, then the encoder is released)"
            build-gpu/app/lipar edit "$CLIP_Y4M" --frames 24 --pack /tmp/pack13t5 --device cuda \
                --prompt "a watercolor painting of a dog" --out /tmp/t5_edit.y4m 2>&1 | tee "$OUT/edit_t5_first.txt" | tail -6
            log "edit (second run: the prompt comes from the disk cache, no UMT5 load)"
            build-gpu/app/lipar edit "$CLIP_Y4M" --frames 24 --pack /tmp/pack13t5 --device cuda \
                --prompt "a watercolor painting of a dog" --out /tmp/t5_edit2.y4m 2>&1 | tee "$OUT/edit_t5_second.txt" | tail -6
            cmp /tmp/t5_edit.y4m /tmp/t5_edit2.y4m && log "second run output identical to the first"
            log "bench (compare modes) with the UMT5 pack"
            build-gpu/app/lipar bench "$CLIP_Y4M" --frames 48 --pack /tmp/pack13t5 --device cuda \
                --prompt "a watercolor painting of a dog" 2>&1 | tee "$OUT/bench_t5.txt" | tail -8
            ;;
        text-pack-xxl)
            log "random 1.3B pack + full-size UMT5-XXL (24 layers): the 24 GB memory plan, measured"
            build-gpu/app/lipar pack init-random --config wan-1.3b --out /tmp/packxxl --seed 0 \
                --text umt5:.gpu/spm/spm.model --text-layers 1 2>&1 | tail -1
            python3 tests/gpu/grow_umt5_layers.py /tmp/packxxl/umt5.safetensors 24 2>&1 | tee -a "$OUT/summary.txt"
            ls -la /tmp/packxxl | tee -a "$OUT/summary.txt"
            nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 >/tmp/gpu_mem.log 2>/dev/null &
            local_smi=$!
            base=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1)
            XDG_CACHE_HOME=/tmp/lipar-cache-xxl build-gpu/app/lipar edit "$CLIP_Y4M" --frames 24 --pack /tmp/packxxl \
                --device cuda --prompt "a watercolor painting of a dog" --out /tmp/xxl.y4m 2>&1 | tee "$OUT/edit_xxl.txt" | tail -7
            kill $local_smi
            log "GPU memory used (nvidia-smi, whole device, every 100 ms): before ${base} MiB, peak $(sort -n /tmp/gpu_mem.log | tail -1) MiB"
            ;;
        parity-loop)
            log "edit loop parity with Self-Forcing's CausalInferencePipeline (carried in .gpu/self_forcing)"
            python3 tests/gpu/edit_loop_reference.py .gpu/self_forcing build-gpu/app/lipar /tmp/parity_loop ${PARITY_QUICK:+--quick} 2>&1 | tee "$OUT/parity_loop.txt" | grep -E "PASS|FAIL|Error|error|Traceback" | tail -12
            ;;
        parity-pruned)
            # Issue 17: naive and lipar with the same keep masks, the C++ loop against
            # pruned_reference.py inside Self-Forcing's pipeline (also runs on a CPU-only torch).
            log "pruned edit loop parity (naive, lipar) with pruned_reference.py"
            python3 tests/gpu/edit_loop_reference.py .gpu/self_forcing build-gpu/app/lipar /tmp/parity_pruned --pruned 2>&1 | tee "$OUT/parity_pruned.txt" | grep -E "PASS|FAIL|Error|error|Traceback" | tail -12
            ;;
        time-reference)
            # Issue 12: the editor's block loop and Self-Forcing's pipeline side by side in bf16
            # on the 1.3B configuration (random weights), at 7 and 21 attended frames.
            log "side by side with Self-Forcing's CausalInferencePipeline (carried in .gpu/self_forcing)"
            python3 tests/gpu/edit_loop_reference.py .gpu/self_forcing build-gpu/app/lipar /tmp/time_ref --time 2>&1 | tee "$OUT/time_reference.txt" | grep -E "TIME|Error|error|Traceback" | tail -8
            ;;
        live-swap-xxl)
            # Needs text-pack-xxl first (/tmp/packxxl). The real engine behind the clip paced at
            # 16 fps; the prompt changes 4 s in, a first-time UMT5-XXL encoding in each mode.
            log "bench --live with a prompt swap, random 1.3B pack + UMT5-XXL"
            build-gpu/app/lipar bench --live "$CLIP_Y4M" --frames ${SWAP_FRAMES:-720} --pack /tmp/packxxl --device cuda \
                --prompt "a watercolor painting of a dog" --swap-prompt "an oil painting of a dog on the grass" \
                --swap-after ${SWAP_AFTER:-20} 2>&1 | tee "$OUT/live_swap_xxl.txt" | tail -12
            ;;
        train-nano-start)
            # The whole Nano training in the background (it outlasts one command); poll it with
            # train-nano-wait in the following calls while the machine is warm.
            prepare_nano_data
            # Outside the checkout: a later call that carries .gpu/ replaces that folder there.
            mkdir -p /tmp/nano/work
            # `--stage editor` starts from a trained autoencoder carried in .gpu/nano_work
            # (NANO_FRESH_AE=1: train one from scratch).
            [ -z "${NANO_FRESH_AE:-}" ] && [ -f .gpu/nano_work/autoencoder.safetensors ] && \
                cp .gpu/nano_work/autoencoder.safetensors /tmp/nano/work/
            setsid nohup build-gpu/app/lipar train --data /tmp/nano_data --holdout cups.y4m \
                --tokenizer resources/tokenizer/nano.model --out /tmp/nano/pack --work /tmp/nano/work \
                --device cuda --seed 0 ${NANO_TRAIN_ARGS:-} >/tmp/nano/train.log 2>&1 &
            sleep 5
            ;;
        train-nano-profile)
            # The editor's training step, phase by phase, with its attention in float32 and in
            # bfloat16 (NANO_PROFILE_STEPS steps each, from the carried autoencoder).
            prepare_nano_data
            for attention in ${NANO_PROFILE_ATTENTION:-f32 bf16}; do
                rm -rf /tmp/nano_profile && mkdir -p /tmp/nano_profile
                cp .gpu/nano_work/autoencoder.safetensors /tmp/nano_profile/
                log "editor training profile, attention $attention"
                build-gpu/app/lipar train --data /tmp/nano_data --holdout cups.y4m \
                    --tokenizer resources/tokenizer/nano.model --out /tmp/nano_profile/pack \
                    --work /tmp/nano_profile --device cuda --seed 0 --stage editor \
                    --editor-steps ${NANO_PROFILE_STEPS:-100} --attention $attention --profile \
                    ${NANO_PROFILE_ARGS:-} 2>&1 | tee "$OUT/train_profile_$attention.txt" | grep -E "^\[editor|per step|error"
            done
            ;;
        train-nano-wait)
            # Polls the background training until it ends or the script has run NANO_DEADLINE_S
            # seconds; copies the log and, once written, the pack to $OUT.
            deadline=${NANO_DEADLINE_S:-550}
            # pgrep -x: the process name, never this script's own command line.
            while pgrep -x lipar >/dev/null && [ $SECONDS -lt $deadline ]; do sleep 5; done
            cp /tmp/nano/train.log "$OUT/train.log"
            grep -E "^\[|dB|wrote|error|lipar train:" /tmp/nano/train.log | tail -25
            if [ -f /tmp/nano/pack/manifest.json ]; then
                # One file: at most 8 files come back from a call.
                tar -C /tmp/nano -cf "$OUT/nano_pack.tar" pack
                log "Nano pack written"
            fi
            ;;
        bench-nano)
            # The trained Nano pack on the GPU: off / naive / lipar at 640x352 and 832x480, three
            # runs each (the medians go to docs/PERF.md), on the static-camera clip at full size.
            mkdir -p /tmp/bench
            [ -f /tmp/bench/chaplin.y4m ] || python3 tests/gpu/prepare_nano_clips.py /tmp/bench 100000 .gpu/clips/chaplin.mp4 >/dev/null
            for size in 640x352 832x480; do
                for run in 1 2 3; do
                    log "bench nano $size run $run"
                    build-gpu/app/lipar bench /tmp/bench/chaplin.y4m --pack /tmp/nano/pack --device cuda \
                        --size $size --frames 96 --prompt "pencil sketch" 2>&1 | tee "$OUT/bench_nano_${size}_$run.txt" | grep -E "^(off|naive|lipar) "
                done
            done
            ;;
        eval-nano)
            # Quality of the freshly trained pack on the held-out clip (the same command as
            # docs/QUALITY.md's CPU table, here on the GPU for a first look).
            mkdir -p /tmp/bench
            [ -f /tmp/bench/cups.y4m ] || python3 tests/gpu/prepare_nano_clips.py /tmp/bench 100000 .gpu/clips/cups.mp4 >/dev/null
            log "eval nano on cups (held out), 48 frames"
            build-gpu/app/lipar eval /tmp/bench/cups.y4m --pack /tmp/nano/pack --device cuda --frames 48 \
                --sheet "$OUT/nano_contact_sheet.png" 2>&1 | tee "$OUT/eval_nano.txt" | tail -22
            ;;
        *) echo "unknown step $step"; exit 2 ;;
    esac
done
