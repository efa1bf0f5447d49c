#!/usr/bin/env python3
"""Turns a random UMT5 pack (`lipar pack init-random --text umt5:...`) into the files of the
published "self-forcing-wan2.1-1.3b" pack, in their published containers and names, with the
Python standard library only (the torch.save writer of tests/data/make_nested_checkpoint.py):

  self_forcing_dmd.pt               torch.save zip: {"generator": {...}, "generator_ema": {...}},
                                    each "model." + Wan DiT names; generator_ema holds the pack's
                                    values, generator zeros (so loading the wrong one shows)
  taew2_1.pth                       torch.save zip: the TAEHV state dict
  models_t5_umt5-xxl-enc-bf16.pth   torch.save zip: the encoder under Wan's T5Encoder names
  spiece.model                      the pack's SentencePiece model

    python3 tests/smoke/make_published_mirror.py PACK_DIR MIRROR_DIR
"""
import collections
import io
import json
import os
import re
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "data"))
import make_nested_checkpoint as ckpt  # noqa: E402  (installs the torch stand-ins)

STORAGE = {"F32": ("FloatStorage", 4), "BF16": ("BFloat16Storage", 2), "F16": ("HalfStorage", 2)}

# Hugging Face UMT5EncoderModel name -> Wan T5Encoder name (docs/TEXT_ENCODER.md, "Weight names").
HF_TO_WAN = [
    (r"shared\.weight", "token_embedding.weight"),
    (r"encoder\.final_layer_norm\.weight", "norm.weight"),
    (r"encoder\.block\.(\d+)\.layer\.0\.layer_norm\.weight", r"blocks.\1.norm1.weight"),
    (r"encoder\.block\.(\d+)\.layer\.0\.SelfAttention\.([qkvo])\.weight", r"blocks.\1.attn.\2.weight"),
    (r"encoder\.block\.(\d+)\.layer\.0\.SelfAttention\.relative_attention_bias\.weight",
     r"blocks.\1.pos_embedding.embedding.weight"),
    (r"encoder\.block\.(\d+)\.layer\.1\.layer_norm\.weight", r"blocks.\1.norm2.weight"),
    (r"encoder\.block\.(\d+)\.layer\.1\.DenseReluDense\.wi_0\.weight", r"blocks.\1.ffn.gate.0.weight"),
    (r"encoder\.block\.(\d+)\.layer\.1\.DenseReluDense\.wi_1\.weight", r"blocks.\1.ffn.fc1.weight"),
    (r"encoder\.block\.(\d+)\.layer\.1\.DenseReluDense\.wo\.weight", r"blocks.\1.ffn.fc2.weight"),
]


class RawStorage(ckpt.Storage):
    def __init__(self, key, storage_type, data, numel):  # noqa: super() packs values; not wanted
        self.key, self.storage_type, self.data, self.numel = key, storage_type, data, numel


def read_safetensors(path):
    """name -> (storage type, shape, raw little-endian bytes)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = collections.OrderedDict()
    for name, info in sorted(header.items()):
        if name == "__metadata__":
            continue
        storage_type, size = STORAGE[info["dtype"]]
        begin, end = info["data_offsets"]
        out[name] = (storage_type, info["shape"], data[begin:end], (end - begin) // size)
    return out


def write_torch_save(path, root, storages):
    archive = os.path.splitext(os.path.basename(path))[0]
    buf = io.BytesIO()
    ckpt.Pickler(buf, protocol=2).dump(root)
    entries = [(f"{archive}/data.pkl", buf.getvalue()), (f"{archive}/byteorder", b"little")]
    entries += [(f"{archive}/data/{s.key}", s.data) for s in storages]
    entries.append((f"{archive}/version", b"3\n"))
    ckpt.write_plain(path, entries)


class Writer:
    def __init__(self):
        self.storages = []

    def tensor(self, storage_type, shape, data, numel):
        s = RawStorage(str(len(self.storages)), storage_type, data, numel)
        self.storages.append(s)
        return ckpt.contiguous(s, shape)


def wan_t5_name(hf):
    for pattern, replacement in HF_TO_WAN:
        if re.fullmatch(pattern, hf):
            return re.sub(pattern, replacement, hf)
    raise SystemExit(f"no Wan name for UMT5 tensor {hf}")


def main(pack, mirror):
    os.makedirs(mirror, exist_ok=True)
    manifest = json.load(open(os.path.join(pack, "manifest.json")))

    dit = read_safetensors(os.path.join(pack, manifest["dit"]["weights"]))
    w = Writer()
    ema, gen = collections.OrderedDict(), collections.OrderedDict()
    for name, (st, shape, data, numel) in dit.items():
        ema["model." + name] = w.tensor(st, shape, data, numel)
        gen["model." + name] = w.tensor(st, shape, bytes(len(data)), numel)
    write_torch_save(os.path.join(mirror, "self_forcing_dmd.pt"),
                     {"generator": gen, "generator_ema": ema}, w.storages)

    ae = read_safetensors(os.path.join(pack, manifest["autoencoder"]["weights"]))
    w = Writer()
    state = collections.OrderedDict((n, w.tensor(*v)) for n, v in ae.items())
    write_torch_save(os.path.join(mirror, "taew2_1.pth"), state, w.storages)

    t5 = read_safetensors(os.path.join(pack, manifest["text"]["weights"]))
    w = Writer()
    state = collections.OrderedDict((wan_t5_name(n), w.tensor(*v)) for n, v in t5.items())
    write_torch_save(os.path.join(mirror, "models_t5_umt5-xxl-enc-bf16.pth"), state, w.storages)

    tokenizer = os.path.join(pack, manifest["text"]["tokenizer"])  # absolute paths stay as they are
    shutil.copyfile(tokenizer, os.path.join(mirror, "spiece.model"))
    for f in sorted(os.listdir(mirror)):
        print(f"{f} {os.path.getsize(os.path.join(mirror, f))} bytes")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
