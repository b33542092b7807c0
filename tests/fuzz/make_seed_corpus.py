#!/usr/bin/python3
"""Writes the seed corpus of the safetensors header fuzzer into tests/fuzz/corpus/safetensors/.

One small file per case: valid-*.safetensors must parse, bad-*.safetensors must be refused with a
trl::ModelError (tests/unit/safetensors_test.cpp, SafetensorsFuzzCorpus, checks both on every build).
Entries the fuzzer found are added by hand under their libFuzzer (sha1) names and must parse or throw
ModelError. Run from anywhere: /usr/bin/python3 tests/fuzz/make_seed_corpus.py
"""
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "safetensors")
GOLDEN = os.path.join(HERE, "..", "golden", "safetensors")


def file_of(header, buffer=b"", pad=True):
    """8-byte little-endian length + header text (str or bytes; padded with spaces to 8) + buffer."""
    text = header if isinstance(header, bytes) else header.encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + buffer


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def js(obj):
    return json.dumps(obj, separators=(",", ":"))


F32_2x2 = js({"w": entry("F32", [2, 2], 0, 16)})
CASES = {
    # Files the parser must accept.
    "valid-empty-header": file_of("{}"),
    "valid-one-f32": file_of(F32_2x2, bytes(range(16))),
    "valid-metadata-only": file_of(js({"__metadata__": {"format": "pt"}})),
    "valid-zero-size-tensors": file_of(js({"a": entry("F32", [0], 0, 0), "b": entry("I64", [1], 0, 8),
                                           "c": entry("BF16", [3, 0], 8, 8)}), bytes(8)),
    "valid-scalar": file_of(js({"s": entry("F64", [], 0, 8)}), struct.pack("<d", 2.5)),
    "valid-unpadded-header": file_of(F32_2x2, bytes(16), pad=False),
    "valid-f8-and-f4": file_of(js({"q": entry("F8_E4M3", [4], 0, 4), "p": entry("F4", [2, 3], 4, 7)}), bytes(7)),
    "valid-unicode-name": file_of(js({"模型.权重": entry("U8", [2], 0, 2)}), b"\x01\x02"),
    "valid-extra-entry-field": file_of(js({"w": {"dtype": "I8", "shape": [1], "data_offsets": [0, 1], "x": 1}}), b"\x07"),
    # Files the parser must refuse, one per corruption class.
    "bad-short-file": b"\x08\x00\x00\x00\x00",
    "bad-header-past-eof": struct.pack("<Q", 1000) + b"{}",
    "bad-header-over-limit": struct.pack("<Q", 100_000_001) + b"{}      ",
    "bad-header-length-huge": b"\xff" * 8 + b"{}      ",
    "bad-truncated-json": file_of('{"w":{"dtype":"F32","shape":[2,2],"data_offs', bytes(16)),
    "bad-empty-json": struct.pack("<Q", 0),
    "bad-not-object": file_of("[1,2,3]"),
    "bad-invalid-utf8": file_of(b'{"\xff\xfe":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x00"),
    "bad-nul-padding": struct.pack("<Q", 8) + b"{}\x00\x00\x00\x00\x00\x00",
    "bad-byte-order-mark": file_of(b"\xef\xbb\xbf{}"),
    "bad-entry-not-object": file_of(js({"w": [0, 16]}), bytes(16)),
    "bad-missing-field": file_of(js({"w": {"dtype": "F32", "shape": [4]}}), bytes(16)),
    "bad-dtype-not-string": file_of(js({"w": entry(32, [4], 0, 16)}), bytes(16)),
    "bad-unknown-dtype": file_of(js({"w": entry("F33", [4], 0, 16)}), bytes(16)),
    "bad-shape-not-array": file_of(js({"w": entry("F32", 4, 0, 16)}), bytes(16)),
    "bad-negative-dim": file_of(js({"w": entry("F32", [-2, -2], 0, 16)}), bytes(16)),
    "bad-fractional-dim": file_of(js({"w": entry("F32", [2.0, 2], 0, 16)}), bytes(16)),
    "bad-shape-size-mismatch": file_of(js({"w": entry("F32", [2, 3], 0, 16)}), bytes(16)),
    "bad-shape-overflow": file_of(js({"w": entry("F32", [2**32, 2**32, 2], 0, 16)}), bytes(16)),
    "bad-byte-count-overflow": file_of(js({"w": entry("F64", [2**62], 0, 16)}), bytes(16)),
    "bad-subbyte-not-whole-bytes": file_of(js({"w": entry("F4", [3], 0, 2)}), bytes(2)),
    "bad-offsets-not-pair": file_of(js({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16, 32]}}), bytes(16)),
    "bad-offsets-negative": file_of(js({"w": entry("F32", [4], -16, 0)}), bytes(16)),
    "bad-offsets-reversed": file_of(js({"w": entry("F32", [0], 16, 0)}), bytes(16)),
    "bad-offsets-out-of-bounds": file_of(js({"w": entry("F32", [2, 2], 0, 16)}), bytes(8)),
    "bad-offsets-overlap": file_of(js({"a": entry("F32", [3], 0, 12), "b": entry("F32", [2], 8, 16)}), bytes(16)),
    "bad-offsets-gap": file_of(js({"a": entry("F32", [3], 0, 12), "b": entry("F32", [2], 16, 24)}), bytes(24)),
    "bad-offsets-leading-gap": file_of(js({"a": entry("F32", [1], 4, 8)}), bytes(8)),
    "bad-trailing-bytes": file_of(F32_2x2, bytes(16) + b"polyglot"),
    "bad-duplicate-tensor": file_of('{"w":%s,"w":%s}' % (js(entry("F32", [1], 0, 4)), js(entry("F32", [1], 0, 4))), bytes(4)),
    "bad-duplicate-field": file_of('{"w":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}', bytes(4)),
    "bad-metadata-not-object": file_of(js({"__metadata__": ["format", "pt"]})),
    "bad-metadata-value-not-string": file_of(js({"__metadata__": {"step": 3}})),
    "bad-metadata-null": file_of(js({"__metadata__": None})),
    "bad-deep-nesting": file_of("[" * 5000 + "]" * 5000),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in CASES.items():
        with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
            f.write(data)
    # Real multi-dtype files from the interop script (tests/golden/check_safetensors_interop.py write).
    for name in ("interop_python", "interop_python_unaligned"):
        shutil.copyfile(os.path.join(GOLDEN, name + ".safetensors"), os.path.join(OUT, "valid-" + name + ".safetensors"))


if __name__ == "__main__":
    main()
