"""HMR forward speed on the CPU: seconds per crop at batch 1 (the baseline) vs batch 8, measured in one run.

Run: `.venv/bin/python -m pytest bench/bench_hmr.py -m bench -s`. Weights are random (speed does not depend
on their values); numbers go into bench/RESULTS.md by hand.
"""

from __future__ import annotations

import time

import pytest


def _seconds_per_crop(net, batch: int, repeats: int) -> float:
    import torch

    x = torch.randn(batch, 3, 224, 224)
    with torch.inference_mode():
        net(x)  # warm-up: allocator, oneDNN kernels
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            net(x)
            best = min(best, time.perf_counter() - t)
    return best / batch


@pytest.mark.bench
def test_hmr_batch8_vs_batch1_cpu():
    import torch

    from inference.hmr import HMR

    net = HMR().eval()
    s1 = _seconds_per_crop(net, 1, repeats=8)
    s8 = _seconds_per_crop(net, 8, repeats=3)
    print(f"\nHMR CPU ({torch.get_num_threads()} threads): batch 1 {s1 * 1000:.1f} ms/crop, "
          f"batch 8 {s8 * 1000:.1f} ms/crop, speed-up x{s1 / s8:.2f}")
    assert s8 < s1 * 1.1  # batching must not be slower per crop than one at a time
