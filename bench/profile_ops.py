#!/usr/bin/env python3
"""Sums a Chrome trace written by `trl_bench --profile FILE` per LibTorch op: calls, total time and self
time (the op's time minus the ops it called on the same thread), the largest self times first.

    python3 bench/profile_ops.py TRACE.json [--top 30]

Self times add up to the traced wall time of the main thread, so the table says where a step goes
(matmuls, elementwise ops, autograd bookkeeping). Times include the profiler's own overhead per op.
"""
import argparse
import collections
import json


def load_events(path):
    with open(path) as f:
        text = f.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:  # the legacy profiler may leave a trailing comma before "]"
        data = json.loads(text.rstrip().rstrip("]").rstrip().rstrip(",") + "]")
    events = data["traceEvents"] if isinstance(data, dict) else data
    return [e for e in events if e.get("ph") == "X" and "dur" in e]


def self_times(events):
    """Per op name: [calls, total us, self us]; nesting by interval containment per thread."""
    table = collections.defaultdict(lambda: [0, 0.0, 0.0])
    by_thread = collections.defaultdict(list)
    for e in events:
        by_thread[e.get("tid", 0)].append((float(e["ts"]), float(e["dur"]), e["name"]))
    for spans in by_thread.values():
        spans.sort(key=lambda s: (s[0], -s[1]))
        stack = []  # [end, name, child time]
        def close(entry):
            end, name, children, dur = entry
            table[name][2] += dur - children
        for ts, dur, name in spans:
            while stack and stack[-1][0] <= ts:
                close(stack.pop())
            if stack:
                stack[-1][2] += dur
            table[name][0] += 1
            table[name][1] += dur
            stack.append([ts + dur, name, 0.0, dur])
        while stack:
            close(stack.pop())
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trace")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    table = self_times(load_events(args.trace))
    total_self = sum(v[2] for v in table.values()) or 1.0
    print(f"{'op':48} {'calls':>7} {'total ms':>10} {'self ms':>10} {'self %':>7}")
    for name, (calls, total, own) in sorted(table.items(), key=lambda kv: -kv[1][2])[: args.top]:
        print(f"{name[:48]:48} {calls:7d} {total / 1e3:10.1f} {own / 1e3:10.1f} {100 * own / total_self:6.1f}%")
    print(f"{'all ops (self)':48} {'':7} {'':10} {total_self / 1e3:10.1f}")


if __name__ == "__main__":
    main()
