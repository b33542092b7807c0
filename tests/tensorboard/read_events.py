#!/usr/bin/env python3
"""Independent reader of TensorBoard event files, written from the published formats only:

- TFRecord framing (tensorflow/core/lib/io/record_writer.cc): uint64 length, uint32 masked CRC-32C of the
  length bytes, data, uint32 masked CRC-32C of the data; little endian; mask = rotr(crc, 15) + 0xa282ead8.
- protobuf wire format (protobuf.dev/programming-guides/encoding) of tensorflow/core/util/event.proto:
  Event{1: double wall_time, 2: int64 step, 3: string file_version, 5: Summary summary},
  Summary{1: repeated Value value}, Value{1: string tag, 2: float simple_value}.

CRC-32C here is the bitwise definition (no table), so it shares no code or table with the C++ writer.

Usage: read_events.py RUNS_DIR [METRICS_JSONL]
  Prints one JSON object per scalar event: {"step": N, "wall_time": t, "scalars": {tag: value}}.
  Event files are found in RUNS_DIR and its sub-folders (transformers' runs/<date>_<host>/ layout).
  With METRICS_JSONL: also checks that the events hold exactly every metrics.jsonl entry (same step, keys
  renamed as transformers' rewrite_logs renames them: eval_x -> eval/x, test_x -> test/x, x -> train/x,
  values equal after rounding to float32; null = NaN) and exits 1 with the difference if not.
Exit codes: 0 ok, 1 a check failed (framing, CRC, proto, mismatch), 2 usage.
"""
import glob
import json
import math
import os
import struct
import sys


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


class Bad(Exception):
    pass


def records(path):
    data = open(path, "rb").read()
    pos = 0
    while pos < len(data):
        if pos + 12 > len(data):
            raise Bad(f"{path}: truncated record header at byte {pos}")
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if length_crc != masked(crc32c(header)):
            raise Bad(f"{path}: bad length CRC at byte {pos}")
        start, end = pos + 12, pos + 12 + length
        if end + 4 > len(data):
            raise Bad(f"{path}: truncated record data at byte {pos}")
        payload = data[start:end]
        (data_crc,) = struct.unpack("<I", data[end:end + 4])
        if data_crc != masked(crc32c(payload)):
            raise Bad(f"{path}: bad data CRC at byte {pos}")
        yield payload
        pos = end + 4


def varint(buf, pos):
    result, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise Bad("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos


def fields(buf):
    """Yields (field number, wire type, value) of one message; value is int, bytes, or raw fixed bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise Bad(f"unsupported wire type {wire}")
        if pos > len(buf):
            raise Bad("field runs past the message")
        yield number, wire, value


def decode_event(buf):
    event = {"wall_time": None, "step": 0, "file_version": None, "scalars": None}
    for number, wire, value in fields(buf):
        if number == 1 and wire == 1:
            event["wall_time"] = struct.unpack("<d", value)[0]
        elif number == 2 and wire == 0:
            event["step"] = value - (1 << 64) if value >= 1 << 63 else value
        elif number == 3 and wire == 2:
            event["file_version"] = value.decode("utf-8")
        elif number == 5 and wire == 2:
            scalars = {}
            for vnum, vwire, vbuf in fields(value):
                if vnum != 1 or vwire != 2:
                    raise Bad(f"unexpected Summary field {vnum}")
                tag, simple = None, None
                for fnum, fwire, fval in fields(vbuf):
                    if fnum == 1 and fwire == 2:
                        tag = fval.decode("utf-8")
                    elif fnum == 2 and fwire == 5:
                        simple = struct.unpack("<f", fval)[0]
                if tag is None or simple is None:
                    raise Bad("a Summary.Value without tag or simple_value")
                scalars[tag] = simple
            event["scalars"] = scalars
        else:
            raise Bad(f"unexpected Event field {number} (wire type {wire})")
    return event


def read_dir(runs_dir):
    paths = sorted(glob.glob(os.path.join(runs_dir, "**", "events.out.tfevents.*"), recursive=True))
    if not paths:
        raise Bad(f"{runs_dir}: no events.out.tfevents.* file")
    events = []
    for path in paths:
        decoded = [decode_event(r) for r in records(path)]
        if not decoded or decoded[0]["file_version"] != "brain.Event:2":
            raise Bad(f"{path}: the first event is not file_version brain.Event:2")
        events += [e for e in decoded[1:] if e["scalars"] is not None]
    return events


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def rewrite_logs_key(key):
    # transformers.integrations.integration_utils.rewrite_logs, the names TensorBoardCallback writes.
    for prefix in ("eval_", "test_"):
        if key.startswith(prefix):
            return prefix[:-1] + "/" + key[len(prefix):]
    return "train/" + key


def compare(events, metrics_path):
    entries = [json.loads(line) for line in open(metrics_path) if line.strip()]
    if len(entries) != len(events):
        raise Bad(f"{len(events)} scalar events, {len(entries)} metrics.jsonl entries")
    checked = 0
    for i, (entry, event) in enumerate(zip(entries, events)):
        if event["step"] != entry["step"]:
            raise Bad(f"entry {i}: step {event['step']} in events, {entry['step']} in metrics.jsonl")
        want = {rewrite_logs_key(k): v for k, v in entry.items()
                if k != "step" and (v is None or isinstance(v, (int, float)))}
        if set(want) != set(event["scalars"]):
            raise Bad(f"entry {i}: keys differ: {sorted(set(want) ^ set(event['scalars']))}")
        for key, value in want.items():
            got = event["scalars"][key]
            if value is None:
                if not math.isnan(got):
                    raise Bad(f"entry {i}: {key} is null in metrics.jsonl, {got} in events")
            elif got != f32(float(value)):
                raise Bad(f"entry {i}: {key} = {got} in events, {value} in metrics.jsonl")
            checked += 1
    return checked


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        events = read_dir(argv[1])
        for e in events:
            print(json.dumps({"step": e["step"], "wall_time": e["wall_time"],
                              "scalars": {k: (None if math.isnan(v) else v) for k, v in e["scalars"].items()}}))
        if len(argv) == 3:
            checked = compare(events, argv[2])
            print(f"ok: {len(events)} events, {checked} scalars equal to {argv[2]}", file=sys.stderr)
    except Bad as e:
        print(f"read_events: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
