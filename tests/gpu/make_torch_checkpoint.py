#!/usr/bin/env python3
"""Checks the engine's torch.save reader against real PyTorch output (run where torch is installed).

1. Write a nested checkpoint with torch.save and, beside it, the tensors it must flatten to as a
   safetensors file (written here with the standard library, no safetensors package needed):

     python3 tests/gpu/make_torch_checkpoint.py --out /tmp/ckpt [--big]

   torch_nested.pth holds {'generator': OrderedDict state dict ('model.' names, with _metadata),
   'generator_ema': {...}, 'optimizer': Adam state dict (int keys), 'step': 7, 'config': {...}}
   with bf16/f16/f32/f64/i64/i32/i8/u8/bool tensors, a transposed (non-contiguous) tensor, a slice
   at a storage offset, two views of one storage, an nn.Parameter, a 0-d and a zero-size tensor,
   and CUDA tensors when CUDA is available. --big adds a 4 GiB + 4 KiB uint8 tensor so that the
   archive needs zip64 records (about 9 GB of disk for both files).

2. Convert with the engine and compare tensor by tensor (names, dtype, shape, bytes):

     ./build/app/lipar convert /tmp/ckpt/torch_nested.pth /tmp/ckpt/converted.safetensors
     python3 tests/gpu/make_torch_checkpoint.py --check /tmp/ckpt/converted.safetensors \
         --expected /tmp/ckpt/torch_nested_expected.safetensors

   The check exits 0 and prints "OK: N tensors match" on success.
"""
import argparse
import collections
import json
import os
import struct
import sys

DTYPE_NAMES = {  # torch dtype name -> safetensors dtype
    "torch.float64": "F64", "torch.float32": "F32", "torch.float16": "F16",
    "torch.bfloat16": "BF16", "torch.int64": "I64", "torch.int32": "I32", "torch.int16": "I16",
    "torch.int8": "I8", "torch.uint8": "U8", "torch.bool": "BOOL",
}


def write_safetensors(path, tensors):
    """Minimal safetensors writer: sorted names, space-padded header, raw little-endian bytes."""
    import torch
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        data = t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": DTYPE_NAMES[str(t.dtype)], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """name -> (dtype, shape, bytes) with the standard library only."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data_start = 8 + n
        out = {}
        for name, e in header.items():
            if name == "__metadata__":
                continue
            b, end = e["data_offsets"]
            f.seek(data_start + b)
            out[name] = (e["dtype"], e["shape"], f.read(end - b))
    return out


def flatten(obj, prefix, out):
    """The engine's rule: dicts nest with '.', str/int keys, non-tensor leaves skipped."""
    import torch
    for k, v in obj.items():
        if not isinstance(k, (str, int)) or isinstance(k, bool):
            continue
        name = prefix + str(k)
        if isinstance(v, torch.Tensor):
            out[name] = v
        elif isinstance(v, dict):
            flatten(v, name + ".", out)


def build(big):
    import torch
    torch.manual_seed(0)
    dev = "cuda" if torch.cuda.is_available() else "cpu"

    net = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 2))
    net = net.to(torch.bfloat16)
    generator = collections.OrderedDict(("model." + k, v) for k, v in net.state_dict().items())
    generator._metadata = net.state_dict()._metadata  # as a real state_dict carries it

    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    shared = torch.randn(5, 7)
    ema = {
        "model.0.weight": torch.randn(4, 8).to(torch.bfloat16).to(dev),
        "model.transposed": base.t(),                         # non-contiguous, stride (1, 6)
        "model.slice": base[1:3, 2:5],                        # storage offset 8, strided rows
        "model.view_a": shared[1],                            # two views of one storage
        "model.view_b": shared[:, 3],
        "model.param": torch.nn.Parameter(torch.randn(3, 3)),
        "model.half": torch.randn(2, 2, dtype=torch.float16, device=dev),
        "model.f64": torch.tensor([1 / 3, -1e300], dtype=torch.float64),
        "model.ids": torch.tensor([-(2 ** 63), -1, 0, 2 ** 63 - 1], dtype=torch.int64),
        "model.i32": torch.tensor([-7, 2 ** 31 - 1], dtype=torch.int32),
        "model.i8": torch.tensor([-128, 127], dtype=torch.int8),
        "model.u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
        "model.mask": torch.tensor([True, False, True]),
        "model.scalar": torch.tensor(2.5),
        "model.empty": torch.zeros(0, 4),
    }
    if big:
        n = (1 << 32) + 4096
        ema["model.big"] = (torch.arange(n, dtype=torch.int64) % 251).to(torch.uint8)

    lin = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(lin.parameters(), lr=1e-3)
    lin(torch.randn(4, 3)).sum().backward()
    opt.step()
    root = {
        "generator": generator,
        "generator_ema": ema,
        "optimizer": opt.state_dict(),  # {'state': {0: {...}, 1: {...}}, 'param_groups': [...]}
        "step": 7,
        "config": {"lr": 1e-3, "name": "dmd", "steps": [1000, 750]},
    }
    return root


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="folder for torch_nested.pth and torch_nested_expected.safetensors")
    ap.add_argument("--big", action="store_true", help="add a > 4 GiB tensor (zip64)")
    ap.add_argument("--check", help="safetensors written by `lipar convert` to compare")
    ap.add_argument("--expected", help="the expected safetensors (from --out)")
    a = ap.parse_args()

    if a.check:
        got, want = read_safetensors(a.check), read_safetensors(a.expected)
        bad = sorted(set(got) ^ set(want))
        for name in sorted(set(got) & set(want)):
            if got[name] != want[name]:
                bad.append(f"{name}: got {got[name][:2]} vs expected {want[name][:2]} or bytes differ")
        if bad:
            print(f"FAIL: {len(bad)} differences:\n  " + "\n  ".join(bad[:30]))
            return 1
        print(f"OK: {len(want)} tensors match")
        return 0

    if not a.out:
        ap.error("--out or --check is required")
    import torch
    os.makedirs(a.out, exist_ok=True)
    root = build(a.big)
    pth = os.path.join(a.out, "torch_nested.pth")
    torch.save(root, pth)
    expected = {}
    flatten(root, "", expected)
    write_safetensors(os.path.join(a.out, "torch_nested_expected.safetensors"), expected)
    print(f"torch {torch.__version__}: wrote {pth} ({os.path.getsize(pth)} bytes) and "
          f"{len(expected)} expected tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
