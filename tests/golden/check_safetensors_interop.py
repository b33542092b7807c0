#!/usr/bin/python3
"""Interop proof for trl-host's safetensors I/O, independent of the C++ code under test.

Debian's python3 has torch 1.13 and numpy but no `safetensors` package, so this script writes and reads
the format by hand, following huggingface/safetensors (safetensors/src/tensor.rs: prepare, read_metadata,
validate) and safetensors.torch.save_file's layout.

  write [DIR]        writes DIR/interop_python.safetensors (laid out as safetensors.torch.save_file does:
                     sorted by dtype size then name, compact JSON, padded with spaces to 8 bytes),
                     DIR/interop_python_unaligned.safetensors (a foreign writer: indented JSON, odd header
                     length so tensor data is misaligned, offsets in reverse name order) and
                     DIR/interop_tensors.json, the expected tensors. tests/unit/safetensors_test.cpp reads
                     both files and checks every tensor against the JSON bit for bit.
  check FILE [JSON]  reads FILE, written by trl-host's save_safetensors from interop_tensors.json in its
                     order with metadata {"format": "pt"}, validates it with the reference rules and checks
                     every tensor's dtype, shape, bytes and decoded values. Exit status 0 = pass.

DIR defaults to tests/golden/safetensors. Tensor values: torch.manual_seed(0), plus special values (inf,
-inf, NaN, -0.0, subnormals, integer extremes). Comparison is exact (bit for bit): tolerance 0.

Regenerating interop_trl.safetensors: run trl_unit_tests --gtest_filter='SafetensorsInterop.*' (it writes
BUILD/tests/interop_trl.safetensors), run `check` on it, and copy it next to this script's outputs.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(HERE, "safetensors")
MAX_HEADER = 100_000_000

DTYPES = {  # safetensors name -> (torch dtype, element bytes)
    "BOOL": (torch.bool, 1), "U8": (torch.uint8, 1), "I8": (torch.int8, 1), "I16": (torch.int16, 2),
    "I32": (torch.int32, 4), "I64": (torch.int64, 8), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2),
    "F32": (torch.float32, 4), "F64": (torch.float64, 8), "C64": (torch.complex64, 8),
}
NAME_OF = {t: n for n, (t, _) in DTYPES.items()}


def expected_tensors():
    """The interop set, in the order trl-host writes it: every dtype, 0-dim, empty, specials."""
    g = torch.Generator().manual_seed(0)
    specials = torch.tensor([float("inf"), float("-inf"), float("nan"), -0.0, 0.0])
    t = {}
    t["mask"] = torch.randint(0, 2, (3, 5), generator=g).bool()
    t["bytes.u8"] = torch.randint(0, 256, (4, 4), generator=g).to(torch.uint8)
    t["bytes.i8"] = torch.arange(-128, 128, 11).to(torch.int8).reshape(2, 3, 4)
    t["ints.i16"] = torch.tensor([-32768, -1, 0, 1, 255, 256, 32767], dtype=torch.int16)
    t["ints.i32"] = torch.randint(-2**31, 2**31 - 1, (3, 3), generator=g).to(torch.int32)
    t["ints.i64"] = torch.tensor([[-2**63, -1, 0, 1, 2**63 - 1], [2**40, -2**40, 7, 8, 9]], dtype=torch.int64)
    f16 = torch.randn(4, 6, generator=g).to(torch.float16)
    f16.view(-1)[:5] = specials.to(torch.float16)
    f16.view(-1)[5] = 2.0 ** -24  # the smallest float16 subnormal
    t["float.f16"] = f16
    bf16 = torch.randn(5, 3, generator=g).to(torch.bfloat16)
    bf16.view(-1)[:5] = specials.to(torch.bfloat16)
    bf16.view(-1)[5] = 1e38  # near bfloat16's float32-like range, far outside float16's
    t["float.bf16"] = bf16
    f32 = torch.randn(2, 2, 2, generator=g)
    f32.view(-1)[:5] = specials
    f32.view(-1)[5] = 1e-45  # float32 subnormal
    t["float.f32"] = f32
    t["float.f64"] = torch.tensor([1.0 / 3.0, -0.0, float("inf"), 5e-324], dtype=torch.float64)
    t["complex.c64"] = torch.complex(torch.tensor([1.5, -2.0]), torch.tensor([0.25, float("inf")]))
    t["scalar.f32"] = torch.tensor(3.25)
    t["empty.f32"] = torch.zeros(0, 3)
    t["model.layers.0.self_attn.q_proj.weight"] = torch.randn(8, 8, generator=g).to(torch.bfloat16)
    return t


def raw_bytes(x):
    """Little-endian row-major bytes of a tensor (torch has no bytes view for bf16/bool in numpy)."""
    x = x.contiguous()
    if x.dtype == torch.bfloat16:
        return x.view(torch.int16).numpy().astype("<i2").tobytes()
    if x.dtype == torch.complex64:
        return x.numpy().astype("<c8").tobytes()
    return x.numpy().tobytes()


def value_list(x):
    """Values as JSON: ints as ints, bools as bools, floats as float.hex() strings (exact; inf/nan too)."""
    x = x.contiguous().reshape(-1)
    if x.dtype == torch.bool:
        return [bool(v) for v in x.tolist()]
    if x.dtype.is_complex:
        return [[float(v.real).hex(), float(v.imag).hex()] for v in x.tolist()]
    if x.dtype.is_floating_point:
        return [float(v).hex() for v in x.double().tolist()]
    return [int(v) for v in x.tolist()]


def write_file(path, items, metadata, indent=None, pad=True):
    """Writes (name, tensor) items with offsets in `items` order; the JSON keys in sorted name order."""
    header, offset, payload = {}, 0, b""
    for name, x in items:
        data = raw_bytes(x)
        header[name] = {"dtype": NAME_OF[x.dtype], "shape": list(x.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        payload += data
    ordered = {"__metadata__": metadata} if metadata else {}
    for name in (sorted(header) if indent else [n for n, _ in items]):
        ordered[name] = header[name]
    text = json.dumps(ordered, indent=indent, separators=None if indent else (",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    elif len(text) % 2 == 0:
        text += b" "  # odd length: every tensor after the header is misaligned in a mapped file
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + payload)


def cmd_write(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    tensors = expected_tensors()
    # safetensors.torch.save_file: sort by dtype alignment (descending), then by name; padded to 8.
    ref_order = sorted(tensors.items(), key=lambda kv: (-DTYPES[NAME_OF[kv[1].dtype]][1], kv[0]))
    write_file(os.path.join(out_dir, "interop_python.safetensors"), ref_order, {"format": "pt", "source": "python"})
    write_file(os.path.join(out_dir, "interop_python_unaligned.safetensors"), sorted(tensors.items(), reverse=True),
               {"source": "hand-written"}, indent=2, pad=False)
    doc = {
        "about": "Expected tensors of interop_python*.safetensors, written by check_safetensors_interop.py "
                 "(torch.manual_seed(0)); bytes_hex is little-endian row-major; float values are float.hex() "
                 "strings; comparison is exact (tolerance 0).",
        "metadata": {"interop_python.safetensors": {"format": "pt", "source": "python"},
                     "interop_python_unaligned.safetensors": {"source": "hand-written"},
                     "interop_trl.safetensors": {"format": "pt"}},
        "tensors": [{"name": n, "dtype": NAME_OF[x.dtype], "shape": list(x.shape), "bytes_hex": raw_bytes(x).hex(),
                     "values": value_list(x)} for n, x in tensors.items()],
    }
    with open(os.path.join(out_dir, "interop_tensors.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in header: %r" % keys)
    return dict(pairs)


def read_file(path):
    """Reads a safetensors file with the reference's rules; returns (metadata, [(name, info, bytes)], N, text)."""
    with open(path, "rb") as f:
        blob = f.read()
    assert len(blob) >= 8, "header too small"
    (n,) = struct.unpack("<Q", blob[:8])
    assert n <= MAX_HEADER, "header too large"
    assert 8 + n <= len(blob), "invalid header length"
    text = blob[8:8 + n].decode("utf-8")
    header = json.loads(text, object_pairs_hook=no_duplicates)
    metadata = header.pop("__metadata__", None)
    buffer = blob[8 + n:]
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    start, out = 0, []
    for name, info in entries:
        s, e = info["data_offsets"]
        assert s == start and e >= s, "invalid offset for tensor %r" % name
        numel = 1
        for d in info["shape"]:
            assert isinstance(d, int) and d >= 0
            numel *= d
        assert e - s == numel * DTYPES[info["dtype"]][1], "tensor %r: size mismatch" % name
        out.append((name, info, buffer[s:e]))
        start = e
    assert start == len(buffer), "incomplete metadata, file not fully covered"
    return metadata, out, n, text


def cmd_check(path, json_path):
    with open(json_path) as f:
        doc = json.load(f)
    metadata, entries, n, text = read_file(path)
    failures = []
    if metadata != {"format": "pt"}:
        failures.append("metadata %r != {'format': 'pt'}" % (metadata,))
    if n % 8 != 0 or len(text) - len(text.rstrip(" ")) >= 8:
        failures.append("header length %d is not padded to a multiple of 8 with spaces" % n)
    names_in_file_order = [name for name, _, _ in entries]
    expected_order = [t["name"] for t in doc["tensors"]]
    if names_in_file_order != expected_order:
        failures.append("tensor order %r != written order %r" % (names_in_file_order, expected_order))
    got = {name: (info, data) for name, info, data in entries}
    for t in doc["tensors"]:
        if t["name"] not in got:
            failures.append("missing tensor %r" % t["name"])
            continue
        info, data = got[t["name"]]
        if info["dtype"] != t["dtype"] or info["shape"] != t["shape"]:
            failures.append("%s: dtype/shape %s %s != %s %s" % (t["name"], info["dtype"], info["shape"], t["dtype"], t["shape"]))
            continue
        if data.hex() != t["bytes_hex"]:
            failures.append("%s: bytes differ" % t["name"])
        # Decode independently (torch.frombuffer) and compare the values too, so a dtype mix-up with
        # the same element size (F16 vs BF16) cannot pass on bytes alone.
        dtype = DTYPES[t["dtype"]][0]
        decoded = torch.frombuffer(bytearray(data), dtype=dtype) if data else torch.empty(0, dtype=dtype)
        if value_list(decoded.reshape(t["shape"])) != t["values"]:
            failures.append("%s: decoded values differ" % t["name"])
    for f in failures:
        print("FAIL " + path + ": " + f)
    if not failures:
        print("PASS %s: %d tensors, header %d bytes" % (path, len(entries), n))
    return 1 if failures else 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "write":
        cmd_write(argv[2] if len(argv) > 2 else DEFAULT_DIR)
        return 0
    if len(argv) >= 3 and argv[1] == "check":
        return cmd_check(argv[2], argv[3] if len(argv) > 3 else os.path.join(DEFAULT_DIR, "interop_tensors.json"))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
