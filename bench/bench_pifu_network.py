"""PIFu's shape network (deterministic golden weights) as the query: seconds per mesh by strategy.

Extracts for real at 65³ with each strategy (dense is the baseline, same run), measures the network's cost per
queried point, and projects seconds per mesh at 257³ and 513³ from evaluation counts measured on the analytic
person field (bench_surface.py) and the open body (tests/unit/test_surface_body.py). The weights give a
meaningless shape, so the 65³ evaluation counts say nothing about a real person; the per-point cost does.
Run: `.venv/bin/python -m pytest bench/bench_pifu_network.py -m bench -s`.
"""

import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.bench
GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "golden"
# Evaluations per mesh measured elsewhere in this folder / the tests (see RESULTS.md), for the projection.
COUNTS = {"257³ dense": 16_974_593, "257³ lossless, person field": 92_736, "257³ lossless, open body rest": 94_619,
          "257³ lossless, open body posed": 69_228, "513³ dense": 135_005_697, "513³ lossless, person field": 343_210}


def test_network_query_cost_and_seconds_per_mesh():
    import sys

    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from golden_weights import deterministic_state_dict

    from inference.pifu.networks import ShapeNet
    from inference.pifu.query import occupancy_fn, test_calib
    from inference.pifu.surface import extract_occupancy

    if not GOLDEN.is_dir():
        pytest.skip("../shared/golden is absent")
    net = ShapeNet().eval()
    net.load_state_dict(deterministic_state_dict(GOLDEN / "pifu_net_G_state_dict.tsv"), strict=True)
    image = torch.from_numpy(np.load(GOLDEN / "pifu_golden.npz")["image"])
    with torch.no_grad():
        t0 = time.perf_counter()
        feat = net.filter(image)
        filter_s = time.perf_counter() - t0
        query = occupancy_fn(net, feat, test_calib("cpu"))
        points = torch.rand(2**17, 3) * 2 - 1
        query(points[:1024])  # warm-up
        t0 = time.perf_counter()
        query(points)
        per_point = (time.perf_counter() - t0) / len(points)
    print(f"\nimage filter {filter_s:.2f} s; query {per_point * 1e6:.1f} µs per point ({torch.get_num_threads()} threads)")
    print("| 65³, real network | evaluations | seconds | binary mismatches vs dense |")
    dense = None
    for mode in ("dense", "fast", "lossless"):
        t0 = time.perf_counter()
        g = extract_occupancy(query, 64, mode)
        s = time.perf_counter() - t0
        dense = g if mode == "dense" else dense
        mism = int(((g.values > 0.5) != (dense.values > 0.5)).sum())
        print(f"| {mode} | {g.evaluated_count:,} | {s:.2f} | {mism} |")
    print("| projected per mesh | evaluations | seconds of queries |")
    for name, n in COUNTS.items():
        print(f"| {name} | {n:,} | {n * per_point:.1f} |")
    assert per_point > 0 and dense.evaluated_count == 65**3
