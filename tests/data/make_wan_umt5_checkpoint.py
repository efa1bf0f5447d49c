#!/usr/bin/env python3
"""Writes a tiny UMT5 encoder twice, with the Python standard library only:

  wan_umt5_tiny.pth              torch.save layout (via make_nested_checkpoint.py's stand-ins) of an
                                 OrderedDict under Wan's T5Encoder names, bf16 storages, as Wan
                                 releases models_t5_umt5-xxl-enc-bf16.pth
  wan_umt5_tiny_hf.safetensors   the same values (exactly: bf16-representable) as F32 under
                                 Hugging Face UMT5EncoderModel names

Config: vocab 32, d_model 16, 2 heads x 8, 2 layers, d_ff 24, 32 buckets. Values are a fixed LCG
sequence, so the files are reproducible. tests/unit/text_umt5_test.cpp loads both and expects
identical encoder outputs. Usage: python3 tests/data/make_wan_umt5_checkpoint.py
"""
import collections
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_nested_checkpoint as ckpt  # noqa: E402  (installs the torch stand-ins)

VOCAB, D, HEADS, DKV, LAYERS, DFF, BUCKETS = 32, 16, 2, 8, 2, 24, 32
INNER = HEADS * DKV
ARCHIVE = "wan_umt5_tiny"

_state = 12345


def uniform():
    global _state
    _state = (_state * 1103515245 + 12345) % (2 ** 31)
    return _state / 2 ** 31 * 2.0 - 1.0  # [-1, 1)


def bf16(value):
    """Rounds toward zero to the nearest bfloat16 (the upper half of the float32)."""
    return struct.unpack("<f", b"\x00\x00" + struct.pack("<f", value)[2:])[0]


def tensor_values(shape, scale, offset=0.0):
    n = 1
    for d in shape:
        n *= d
    return [bf16(offset + scale * uniform()) for _ in range(n)]


def layout():
    """(hf name, wan name, shape, scale, offset) in a fixed order."""
    rows = [("shared.weight", "token_embedding.weight", [VOCAB, D], 1.0, 0.0)]
    for i in range(LAYERS):
        hf = f"encoder.block.{i}.layer."
        wan = f"blocks.{i}."
        rows += [
            (hf + "0.layer_norm.weight", wan + "norm1.weight", [D], 0.2, 1.0),
            (hf + "0.SelfAttention.q.weight", wan + "attn.q.weight", [INNER, D], 0.15, 0.0),
            (hf + "0.SelfAttention.k.weight", wan + "attn.k.weight", [INNER, D], 0.4, 0.0),
            (hf + "0.SelfAttention.v.weight", wan + "attn.v.weight", [INNER, D], 0.4, 0.0),
            (hf + "0.SelfAttention.o.weight", wan + "attn.o.weight", [D, INNER], 0.4, 0.0),
            (hf + "0.SelfAttention.relative_attention_bias.weight",
             wan + "pos_embedding.embedding.weight", [BUCKETS, HEADS], 1.0, 0.0),
            (hf + "1.layer_norm.weight", wan + "norm2.weight", [D], 0.2, 1.0),
            (hf + "1.DenseReluDense.wi_0.weight", wan + "ffn.gate.0.weight", [DFF, D], 0.4, 0.0),
            (hf + "1.DenseReluDense.wi_1.weight", wan + "ffn.fc1.weight", [DFF, D], 0.4, 0.0),
            (hf + "1.DenseReluDense.wo.weight", wan + "ffn.fc2.weight", [D, DFF], 0.3, 0.0),
        ]
    rows.append(("encoder.final_layer_norm.weight", "norm.weight", [D], 0.2, 1.0))
    return rows


def write_safetensors(path, tensors):
    header, data = {}, bytearray()
    for name in sorted(tensors):
        shape, values = tensors[name]
        blob = b"".join(struct.pack("<f", v) for v in values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + bytes(data))


def main():
    state = collections.OrderedDict()
    storages = []
    hf = {}
    for key, (hf_name, wan_name, shape, scale, offset) in enumerate(layout()):
        values = tensor_values(shape, scale, offset)
        storage = ckpt.Storage(str(key), "BFloat16Storage", values)
        storages.append(storage)
        state[wan_name] = ckpt.contiguous(storage, shape)
        hf[hf_name] = (shape, values)

    import io
    buf = io.BytesIO()
    ckpt.Pickler(buf, protocol=2).dump(state)
    entries = [(f"{ARCHIVE}/data.pkl", buf.getvalue()), (f"{ARCHIVE}/byteorder", b"little")]
    entries += [(f"{ARCHIVE}/data/{s.key}", s.data) for s in storages]
    entries.append((f"{ARCHIVE}/version", b"3\n"))
    ckpt.write_plain(os.path.join(HERE, "wan_umt5_tiny.pth"), entries)
    write_safetensors(os.path.join(HERE, "wan_umt5_tiny_hf.safetensors"), hf)


if __name__ == "__main__":
    main()
