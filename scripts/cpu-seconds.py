#!/usr/bin/env python3
"""Samples the machine's CPU once a second until killed, one JSON line per second to stdout:
busy, steal (time the hypervisor gave to other guests), iowait and idle, as fractions of
all CPUs. Benchmarks lay these beside their per-second latencies: on a shared VM a second
with a third of the CPU stolen shows up as that second's tail.

`cpu-seconds.py --wait-calm MAX_STEAL SECONDS TIMEOUT` instead waits until SECONDS seconds in a
row had steal under MAX_STEAL; exit 0 once calm, 1 (with the last second's steal on stderr)
if TIMEOUT seconds passed first (the benchmark then goes on and says so)."""
import json
import signal
import sys
import time

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def read():
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return {"busy": user + nice + system + irq + softirq, "idle": idle, "iowait": iowait, "steal": steal}


def seconds():
    before = read()
    while True:
        time.sleep(1.0 - time.time() % 1.0)
        now = read()
        delta = {k: now[k] - before[k] for k in now}
        total = sum(delta.values()) or 1
        yield {"unix_s": round(time.time()), **{k: round(v / total, 3) for k, v in delta.items()}}
        before = now


if len(sys.argv) == 5 and sys.argv[1] == "--wait-calm":
    max_steal, needed, timeout = float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    started, calm = time.time(), 0
    for second in seconds():
        calm = calm + 1 if second["steal"] < max_steal else 0
        if calm >= needed:
            sys.exit(0)
        if time.time() - started > timeout:
            print(f"the host stayed busy: steal {second['steal']:.0%} after {timeout:.0f} s", file=sys.stderr)
            sys.exit(1)
for second in seconds():
    print(json.dumps(second), flush=True)
