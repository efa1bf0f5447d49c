#!/usr/bin/env python3
"""Writes small torch.save-compatible checkpoints with the Python standard library only.

The layout matches torch.save (zip format, pickle protocol 2): a zip archive of STORED entries
`<archive>/data.pkl`, `<archive>/byteorder`, `<archive>/data/<key>`, `<archive>/version`, where
data.pkl pickles dicts whose tensors are `torch._utils._rebuild_tensor_v2(persistent storage id,
offset, size, stride, requires_grad, OrderedDict())`. The `torch` globals are stand-ins created
here, so no torch install is needed; the pickle opcodes are the ones torch.save emits.

Outputs (beside this script):
  nested_checkpoint.pth          written with zipfile (plain zip)
  nested_checkpoint_zip64.pth    same content, every size/offset in zip64 extra fields and records
  compressed_checkpoint.pth      same content, entries DEFLATE-compressed (readers must refuse it)

Usage: python3 tests/data/make_nested_checkpoint.py
The expected values are asserted in tests/unit/torch_checkpoint_test.cpp; keep them in sync.
"""
import collections
import os
import pickle
import struct
import sys
import types
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ARCHIVE = "nested_checkpoint"

# ---- stand-ins for the torch globals the pickle names ------------------------------------------
torch_mod = types.ModuleType("torch")
utils_mod = types.ModuleType("torch._utils")
torch_mod._utils = utils_mod
sys.modules["torch"] = torch_mod
sys.modules["torch._utils"] = utils_mod


def _rebuild_tensor_v2(*args):
    raise RuntimeError("stand-in only")


_rebuild_tensor_v2.__module__ = "torch._utils"
utils_mod._rebuild_tensor_v2 = _rebuild_tensor_v2

# storage class name -> (struct format of one element, element size)
STORAGE_TYPES = {
    "FloatStorage": ("<f", 4),
    "DoubleStorage": ("<d", 8),
    "HalfStorage": ("<e", 2),
    "BFloat16Storage": (None, 2),
    "LongStorage": ("<q", 8),
    "IntStorage": ("<i", 4),
    "ShortStorage": ("<h", 2),
    "CharStorage": ("<b", 1),
    "ByteStorage": ("<B", 1),
    "BoolStorage": ("<?", 1),
}
for _name in STORAGE_TYPES:
    setattr(torch_mod, _name, type(_name, (), {"__module__": "torch"}))


def encode(storage_type, values):
    fmt, _ = STORAGE_TYPES[storage_type]
    if storage_type == "BFloat16Storage":  # the upper half of the float32 (values chosen exact)
        return b"".join(struct.pack("<f", v)[2:] for v in values)
    return b"".join(struct.pack(fmt, v) for v in values)


class Storage:
    def __init__(self, key, storage_type, values):
        self.key = key
        self.storage_type = storage_type
        self.numel = len(values)
        self.data = encode(storage_type, values)


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce_ex__(self, protocol):
        return (_rebuild_tensor_v2, self.args)


def contiguous(storage, size):
    stride, acc = [], 1
    for d in reversed(size):
        stride.insert(0, acc)
        acc *= d
    return Tensor(storage, 0, size, stride)


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", getattr(torch_mod, obj.storage_type), obj.key, "cpu", obj.numel)
        return None


# ---- the checkpoint --------------------------------------------------------------------------
def build():
    s = {}

    def storage(key, storage_type, values):
        s[key] = Storage(key, storage_type, values)
        return s[key]

    gen = collections.OrderedDict()
    gen["model.blocks.0.weight"] = contiguous(storage("0", "FloatStorage", [0.5 + i for i in range(6)]), [2, 3])
    gen["model.blocks.0.bias"] = contiguous(storage("1", "BFloat16Storage", [1.0, -2.5, 3.0]), [3])
    gen["model.scale"] = contiguous(storage("2", "HalfStorage", [0.25]), [])

    shared = storage("3", "FloatStorage", [float(i) for i in range(12)])
    ema = {
        "model.blocks.0.weight": contiguous(storage("4", "FloatStorage", [-1.0 - i for i in range(6)]), [2, 3]),
        "model.ids": contiguous(storage("5", "LongStorage", [-(2 ** 63), -1, 0, 2 ** 63 - 1]), [4]),
        "model.mask": contiguous(storage("6", "BoolStorage", [True, False, True, True, False]), [5]),
        # The transpose of a 3x4 row-major matrix: size (4, 3), stride (1, 4).
        "model.transposed": Tensor(shared, 0, [4, 3], [1, 4]),
        # Row 1 of the same storage: offset 4, size (4,).
        "model.row1": Tensor(shared, 4, [4], [1]),
        "model.empty": Tensor(storage("7", "FloatStorage", []), 0, [0, 4], [4, 1]),
        "model.f64": contiguous(storage("8", "DoubleStorage", [1.0 / 3.0, -1e300]), [2]),
        "model.i32": contiguous(storage("9", "IntStorage", [-7, 2 ** 31 - 1]), [2]),
        "model.i16": contiguous(storage("10", "ShortStorage", [-32768, 12]), [2]),
        "model.i8": contiguous(storage("11", "CharStorage", [-128, 127]), [2]),
        "model.u8": contiguous(storage("12", "ByteStorage", [0, 200, 255]), [3]),
    }
    root = {
        "generator": gen,
        "generator_ema": ema,
        "step": 1234,                              # non-tensor leaves are skipped
        "config": {"lr": 0.001, "name": "dmd", "steps": [1000, 750]},
        "note": None,
    }
    return root, s


def payload():
    root, storages = build()
    import io
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(root)
    entries = [(f"{ARCHIVE}/data.pkl", buf.getvalue()), (f"{ARCHIVE}/byteorder", b"little")]
    for key in sorted(storages, key=int):
        entries.append((f"{ARCHIVE}/data/{key}", storages[key].data))
    entries.append((f"{ARCHIVE}/version", b"3\n"))
    return entries


def write_plain(path, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = compression
            z.writestr(info, data)


def write_zip64(path, entries):
    """Every entry with zip64 extra fields (32-bit fields saturated) and zip64 end records."""
    out = bytearray()
    central = bytearray()
    for name, data in entries:
        raw = name.encode()
        crc = zlib.crc32(data)
        offset = len(out)
        local_extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x5821, crc,
                           0xFFFFFFFF, 0xFFFFFFFF, len(raw), len(local_extra))
        out += raw + local_extra + data
        cd_extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x5821, crc,
                               0xFFFFFFFF, 0xFFFFFFFF, len(raw), len(cd_extra), 0, 0, 0, 0,
                               0xFFFFFFFF)
        central += raw + cd_extra
    cd_offset = len(out)
    out += central
    zip64_end = len(out)
    n = len(entries)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, zip64_end, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(path, "wb") as f:
        f.write(out)


def main():
    entries = payload()
    plain = os.path.join(HERE, "nested_checkpoint.pth")
    zip64 = os.path.join(HERE, "nested_checkpoint_zip64.pth")
    compressed = os.path.join(HERE, "compressed_checkpoint.pth")
    write_plain(plain, entries)
    write_zip64(zip64, entries)
    write_plain(compressed, entries, zipfile.ZIP_DEFLATED)
    for p in (plain, zip64, compressed):  # zipfile must read back what was written
        with zipfile.ZipFile(p) as z:
            assert z.testzip() is None, p
            assert [(i.filename, z.read(i)) for i in z.infolist()] == entries, p
        print(f"wrote {p} ({os.path.getsize(p)} bytes)")


if __name__ == "__main__":
    main()
