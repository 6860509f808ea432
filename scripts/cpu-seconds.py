#!/usr/bin/env python3
"""Samples the machine's CPU once a second until killed, one JSON line per second to stdout:
busy, steal (time the hypervisor gave to other guests), iowait and idle, as fractions of
all CPUs. Benchmarks lay these beside their per-second latencies: on a shared VM a second
with a third of the CPU stolen shows up as that second's tail."""
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


before = read()
while True:
    time.sleep(1.0 - time.time() % 1.0)
    now = read()
    delta = {k: now[k] - before[k] for k in now}
    total = sum(delta.values()) or 1
    print(json.dumps({"unix_s": round(time.time()), **{k: round(v / total, 3) for k, v in delta.items()}}), flush=True)
    before = now
