#!/usr/bin/env python3
"""overlap_model.py - what overlapping the gradient sum with backward hides on
many machines: a model, not a measurement (docs/DISTRIBUTED.md: Overlap).

  benchmarks/overlap_model.py [--gen build/gen] [--ranks 16] [--bucket-mb 4]

For ResNet-18, -50 and -152 it reads the layer table (gen --summary), and
assumes: backward takes 2/3 of an update's compute (its passes do twice the
forward's multiply-adds), spread over the layers in proportion to their
multiply-adds, visiting them in reverse; a layer's gradients are final when
its backward ends; the gradient region lies in forward order and is cut into
buckets of --bucket-mb at fixed offsets from 0 (runtime/buckets.c), each sent
when backward has passed its start, one after another over one link, each
moving 2 (R - 1) / R of its bytes (reduce-scatter and all-gather) plus a
latency of 2 x 50 us.  What is left after backward ends is what the update
waits.  Compute times: 2-core ranks at this machine's measured rates
(docs/PERFORMANCE.md, batch 8), and ranks 8x faster, as a 16-core rank would
be if it scaled (not measured: no such machine was available).
"""
import argparse
import subprocess

NETS = {  # network: seconds of compute for an update of 8 images on 2 cores
    "resnet18": 8 / 17.5,
    "resnet50": 8 / 6.84,
    "resnet152": 3.3,
}
LATENCY = 2 * 50e-6


def layers(gen, net):
    """(params, macs) of each layer that has params, in forward order: what
    follows the output shape in gen --summary's table."""
    out = subprocess.run([gen, "-D", "classes=3", "--summary", f"networks/{net}.lua"],
                         check=True, capture_output=True, text=True).stdout.splitlines()
    column = out[1].index("output")
    rows = []
    for line in out[2:]:
        if line.startswith("BN running"):
            break
        cells = line[column:].split()[1:]  # after the output shape
        nums = [int(c.replace(",", "")) for c in cells]
        if nums:
            rows.append((nums[0], nums[1] if len(nums) == 2 else 0))
    return rows


def exposed(rows, backward_s, bandwidth, ranks, bucket_bytes):
    """Seconds the update waits after backward: (overlapped, summed after backward)."""
    total_bytes = 4 * sum(p for p, _ in rows)
    total_macs = sum(m for _, m in rows)
    factor = 2 * (ranks - 1) / ranks / bandwidth
    # when the watermark falls below each layer's first byte
    offsets, at = [], 0
    for p, _ in rows:
        offsets.append(at)
        at += 4 * p
    final_at, t = [], 0.0
    for i in reversed(range(len(rows))):
        t += backward_s * rows[i][1] / total_macs
        final_at.append((offsets[i], t))
    n_buckets = (total_bytes + bucket_bytes - 1) // bucket_bytes
    link = 0.0
    for k in reversed(range(n_buckets)):
        start = k * bucket_bytes
        size = min(bucket_bytes, total_bytes - start)
        ready = next(t for off, t in final_at if off <= start)
        link = max(link, ready) + size * factor + LATENCY
    after = total_bytes * factor + n_buckets * LATENCY
    return max(0.0, link - backward_s), after


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gen", default="build/gen")
    ap.add_argument("--ranks", type=int, default=16)
    ap.add_argument("--bucket-mb", type=float, default=4)
    a = ap.parse_args()
    bucket = int(a.bucket_mb * (1 << 20))
    print(f"R = {a.ranks}, buckets of {a.bucket_mb:g} MiB; ms an update waits on the "
          "gradient sum: overlapped / after backward")
    print(f"{'network':10} {'rank':14} {'compute ms':>10} {'10 Gbit/s':>16} {'100 Gbit/s':>16}")
    for net, compute in NETS.items():
        rows = layers(a.gen, net)
        for rank, speed in (("2 cores", 1), ("8x (16 cores)", 8)):
            c = compute / speed
            cells = []
            for gbit in (10, 100):
                over, after = exposed(rows, c * 2 / 3, gbit * 1e9 / 8, a.ranks, bucket)
                cells.append(f"{1e3 * over:6.1f} / {1e3 * after:6.1f}")
            print(f"{net:10} {rank:14} {1e3 * c:10.0f} {cells[0]:>16} {cells[1]:>16}")


if __name__ == "__main__":
    main()
