"""Surface extraction: evaluations and seconds per mesh for dense, fast and lossless at 256 and 512 cells per
side, on an analytic field shaped like a person (the baseline, dense, is measured in the same run).

Run: .venv/bin/python -m pytest bench/bench_surface.py -m bench -s
"""

import time

import numpy as np
import pytest
import torch

from inference.pifu.surface import extract_occupancy, marching_cubes

# (start, end, radius) capsules of a standing person in PIFu's box (y up, height ~1.8 of the 2-unit box).
CAPSULES = [
    ((0.0, 0.05, 0.0), (0.0, 0.45, 0.0), 0.17),  # torso
    ((0.0, 0.0, 0.0), (0.0, 0.05, 0.0), 0.15),  # pelvis
    ((0.0, 0.6, 0.0), (0.0, 0.7, 0.01), 0.11),  # head
    ((-0.09, -0.02, 0), (-0.12, -0.45, 0.02), 0.08), ((-0.12, -0.45, 0.02), (-0.13, -0.85, -0.02), 0.06),
    ((0.09, -0.02, 0), (0.12, -0.45, 0.02), 0.08), ((0.12, -0.45, 0.02), (0.13, -0.85, -0.02), 0.06),
    ((-0.2, 0.42, 0), (-0.42, 0.2, 0.05), 0.05), ((-0.42, 0.2, 0.05), (-0.55, -0.02, 0.12), 0.045),
    ((0.2, 0.42, 0), (0.42, 0.2, 0.05), 0.05), ((0.42, 0.2, 0.05), (0.55, -0.02, 0.12), 0.045),
    ((-0.13, -0.85, 0.0), (-0.14, -0.88, 0.12), 0.04), ((0.13, -0.85, 0.0), (0.14, -0.88, 0.12), 0.04),
]


def person_field(points):
    """points [N,3] -> occupancy [N]: sigmoid of the union of capsules' signed distance (a net-like ramp)."""
    a = torch.tensor([c[0] for c in CAPSULES])
    b = torch.tensor([c[1] for c in CAPSULES])
    r = torch.tensor([c[2] for c in CAPSULES])
    ab = b - a
    sd = None
    for k in range(len(CAPSULES)):
        pa = points - a[k]
        h = ((pa @ ab[k]) / (ab[k] @ ab[k])).clamp(0, 1)
        d = r[k] - (pa - h[:, None] * ab[k]).norm(dim=1)
        sd = d if sd is None else torch.maximum(sd, d)
    return torch.sigmoid(60 * sd)


@pytest.mark.bench
@pytest.mark.parametrize("resolution", [256, 512])
def test_bench_surface_person(resolution):
    torch.set_num_threads(2)
    rows, grids = [], {}
    for mode in ("dense", "fast", "lossless"):
        t0 = time.perf_counter()
        g = extract_occupancy(person_field, resolution, mode)
        t1 = time.perf_counter()
        v, f = marching_cubes(g)
        t2 = time.perf_counter()
        grids[mode] = g.values > 0.5
        del g.values
        rows.append((mode, g.evaluated_count, t1 - t0, t2 - t1, len(v)))
    dense_count = rows[0][1]
    print(f"\n{resolution + 1}^3 grid, person-shaped analytic field, 2 threads")
    print("| mode | evaluations | fewer than dense | grid s | marching cubes s | vertices | IoU vs dense | "
          "binary mismatches |")
    for mode, count, tq, tm, nv in rows:
        a, b = grids[mode], grids["dense"]
        iou = (a & b).sum() / (a | b).sum()
        print(f"| {mode} | {count:,} | {dense_count / count:.0f}x | {tq:.2f} | {tm:.2f} | {nv:,} | {iou:.6f} | "
              f"{int((a != b).sum())} |")
    assert np.array_equal(grids["lossless"], grids["dense"])
    assert dense_count / rows[2][1] > 100
