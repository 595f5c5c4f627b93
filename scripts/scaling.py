#!/usr/bin/env python3
"""Projected scaling of ttfs's data-parallel training over N nodes (docs/distributed.md).

Model, per optimizer step with a global batch of B samples split over N nodes:
  compute(N) = B / N / r            r: samples/s of one node, measured (`ttfs train`)
  comm(N)    = 2 (N-1)/N * S / W    ring all-reduce of S bytes of gradients at W bytes/s
             + 2 (N-1) * a          its 2(N-1) messages, a = 5 us each
  step(N)    = compute(N) + comm(N)   (no overlap of communication with the backward pass)
  efficiency = step(1) / (N * step(N)), speed-up = N * efficiency
usage: scripts/scaling.py NAME PARAMS BATCH SAMPLES_PER_S [NAME PARAMS BATCH SAMPLES_PER_S ...]
"""
import sys

LATENCY = 5e-6
NODES = [2, 4, 8, 16, 32, 64]
LINKS = [10, 25, 100]  # Gbit/s

args = sys.argv[1:]
if not args or len(args) % 4:
    sys.exit(__doc__)
for i in range(0, len(args), 4):
    name, params, batch, rate = args[i], int(args[i + 1]), int(args[i + 2]), float(args[i + 3])
    s = 4 * params
    print(f"\n{name}: {params:,} parameters -> {s / 1e6:.2f} MB of gradients per step; "
          f"batch {batch}; one node {rate:.0f} samples/s ({1e3 * batch / rate:.1f} ms a step)")
    print("| link | " + " | ".join(f"N={n}" for n in NODES) + " |")
    print("|---|" + "---|" * len(NODES))
    for gbit in LINKS:
        w = gbit * 1e9 / 8
        cells = []
        for n in NODES:
            compute = batch / n / rate
            comm = 2 * (n - 1) / n * s / w + 2 * (n - 1) * LATENCY
            eff = (batch / rate) / (n * (compute + comm))
            cells.append(f"{100 * eff:.0f}% ({n * eff:.1f}x)")
        print(f"| {gbit} Gbit/s | " + " | ".join(cells) + " |")
