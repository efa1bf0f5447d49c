#!/usr/bin/env bash
# UMT5 text-encoder parity: `lipar tensor t5` against Hugging Face transformers.
#   tests/gpu/t5_parity.sh DIR
# Needs python3 with torch, transformers and safetensors ($PYTHON overrides) and a built `lipar`
# ($LIPAR_BIN, default build/app/lipar). Runs every weight layout (HF sharded directory, HF index
# file, single safetensors, Wan .pth in f32 and bf16) on the CPU and, when present, on CUDA in f32
# (relative error must be < 1e-4), plus an informative bf16 run on CUDA (< 3e-2).
set -euo pipefail
DIR="${1:?usage: t5_parity.sh DIR}"
HERE="$(cd "$(dirname "$0")" && pwd)"
PYTHON="${PYTHON:-python3}"
LIPAR_BIN="${LIPAR_BIN:-${LIPAR_BUILD_DIR:-build}/app/lipar}"
mkdir -p "$DIR"
"$PYTHON" "$HERE/t5_reference.py" "$DIR"

devices="cpu"
if "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    devices="cpu cuda"
fi

compare() {  # compare OUT REF TOL LABEL
    "$PYTHON" - "$1" "$2" "$3" "$4" <<'PY'
import sys
from safetensors.torch import load_file
out, ref, tol, label = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
a = load_file(out)["hidden"].double()
b = load_file(ref)["hidden"].double()
assert a.shape == b.shape, f"{label}: shape {tuple(a.shape)} vs reference {tuple(b.shape)}"
rel = ((a - b).norm() / b.norm()).item()
real = load_file(out)["hidden"][1, :77].double(), load_file(ref)["hidden"][1, :77].double()
rel_real = ((real[0] - real[1]).norm() / real[1].norm()).item()
ok = rel < tol
print(f"{'PASS' if ok else 'FAIL'} {label}: relative error {rel:.3e} (masked row, real tokens "
      f"{rel_real:.3e}; tolerance {tol:g})")
sys.exit(0 if ok else 1)
PY
}

status=0
run() {  # run LABEL WEIGHTS DEVICE DTYPE REF TOL
    local label="$1" weights="$2" device="$3" dtype="$4" ref="$5" tol="$6"
    local out="$DIR/out_${label}_${device}_${dtype}.safetensors"
    if ! "$LIPAR_BIN" tensor t5 --weights "$weights" --in "$DIR/IN.safetensors" --out "$out" \
            --device "$device" --dtype "$dtype"; then
        echo "FAIL $label $device $dtype: lipar exited with an error"
        status=1
        return
    fi
    compare "$out" "$ref" "$tol" "$label $device $dtype" || status=1
}

for device in $devices; do
    run hf_dir "$DIR/hf" "$device" f32 "$DIR/REF.safetensors" 1e-4
    run hf_index "$DIR/hf/model.safetensors.index.json" "$device" f32 "$DIR/REF.safetensors" 1e-4
    run hf_file "$DIR/umt5.safetensors" "$device" f32 "$DIR/REF.safetensors" 1e-4
    run wan_pth "$DIR/wan_t5.pth" "$device" f32 "$DIR/REF.safetensors" 1e-4
    run wan_pth_bf16 "$DIR/wan_t5_bf16.pth" "$device" f32 "$DIR/REF_BF16W.safetensors" 1e-4
done
if [[ "$devices" == *cuda* ]]; then
    run wan_pth_bf16 "$DIR/wan_t5_bf16.pth" cuda bf16 "$DIR/REF_BF16W.safetensors" 3e-2
fi
exit $status
