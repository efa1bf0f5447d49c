"""Grows the random UMT5 encoder of a pack to N layers with the published names and shapes.

`lipar pack init-random --text umt5:... --text-layers 1` writes a full-width encoder with one layer;
this script writes every block 0..N-1 with the names of block 0, each tensor drawn on the GPU from a
normal distribution with the mean and standard deviation of its block-0 counterpart (so the
statistics of lipar's own random initialisation are kept), and copies the rest (shared embedding,
final norm). Used to measure the memory of a full-size UMT5-XXL (24 layers, 5.7B parameters) pack
on the GPU machine without generating 23 GB of float32 on the CPU.

    python3 tests/gpu/grow_umt5_layers.py PACK/umt5.safetensors 24
"""
import re
import sys

import torch
from safetensors.torch import load_file, save_file


def main(path, layers):
    src = load_file(path)
    gen = torch.Generator(device="cuda").manual_seed(0)
    out = {}
    block0 = {}
    for name, t in src.items():
        m = re.match(r"(encoder\.block\.)(\d+)(\..*)", name)
        if m is None:
            out[name] = t
        elif m.group(2) == "0":
            block0[m.group(3)] = t
    for i in range(layers):
        for suffix, t in block0.items():
            if i == 0:
                out[f"encoder.block.0{suffix}"] = t
                continue
            f = t.to("cuda", torch.float32)
            r = torch.randn(f.shape, generator=gen, device="cuda") * f.std() + f.mean()
            out[f"encoder.block.{i}{suffix}"] = r.to(t.dtype).cpu()
    params = sum(t.numel() for t in out.values())
    save_file(out, path, metadata={"lipar": f"random UMT5 encoder (untrained), {layers} layers, grown by grow_umt5_layers.py"})
    print(f"wrote {len(out)} tensors, {params / 1e9:.2f}B parameters, {layers} layers to {path}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
