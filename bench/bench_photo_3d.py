"""The photo fit in 3D on rendered photos with known joints, against MediaPipe's world landmarks (same run).

Run: `.venv/bin/python -m pytest bench/bench_photo_3d.py -m bench -s`, on the set that
`scripts/render_photo_set.py` writes (default $BODYRIG_PHOTO3D = /work/evalset/photo3d/photo; skipped when
absent). For every image: inference.pipeline.fit_photo (open body, no checkpoint, CPU) and, from the same
run, the world landmarks of the detection the fit started from. Prints markdown tables for bench/RESULTS.md:
per family and overall MPJPE / PA-MPJPE (12 joints, mm; see bench/accuracy_3d.py), the limbs-only PA score,
the fit's 2D error (px) against the truth's projection, then the worst images. $BODYRIG_PHOTO3D_JSON: also
write the per-image numbers there (for comparing two runs).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy_3d import (depth_ambiguous, error_2d_px, errors_mm, load_set, mediapipe_scored,  # noqa: E402
                         project, smpl_scored)

pytestmark = pytest.mark.bench
SET = Path(os.environ.get("BODYRIG_PHOTO3D", "/work/evalset/photo3d/photo"))
METRICS = ("mpjpe", "pa", "pa_limbs")


def evaluate(items, data):
    """Fit every image → list of per-image dicts (family, ambiguous, fit/mp errors, 2D px, seconds), the names
    where no person was found, and those where the detection's hips are not the body's (another person)."""
    from inference.errors import NoPersonError
    from inference.pipeline import Settings, fit_photo

    settings = Settings(body=data, device="cpu")
    rows, missed, wrong = [], [], []
    for name, image, truth in items:
        t0 = time.perf_counter()
        try:
            res = fit_photo(image, settings)
        except NoPersonError:
            missed.append(name)
            continue
        gt = smpl_scored(truth["joints"])
        if not same_person(res.detection, truth):
            wrong.append(name)
            continue
        rows.append({"name": name, "family": truth["family"], "ambiguous": depth_ambiguous(truth),
                     "fit": errors_mm(smpl_scored(res.fit.joints3d), gt),
                     "mp": errors_mm(mediapipe_scored(res.detection.world_landmarks), gt),
                     "px": error_2d_px(res.fit, truth), "seconds": time.perf_counter() - t0})
    return rows, missed, wrong


def same_person(detection, truth) -> bool:
    """The detection's mid-hip keypoint lies within a fifth of the picture's longer side of the truth's."""
    from inference.keypoint_map import MP

    kp = np.asarray(detection.keypoints2d, dtype=np.float64)
    mid = kp[[MP["left_hip"], MP["right_hip"]], :2].mean(0)
    uv = project(truth["joints"][[1, 2]], *(float(truth[k]) for k in ("fx", "fy", "cx", "cy"))).mean(0)
    return bool(np.linalg.norm(mid - uv) < 0.2 * max(float(truth["width"]), float(truth["height"])))


def table(rows) -> list[str]:
    groups = {}
    for r in rows:
        groups.setdefault(r["family"], []).append(r)
    order = sorted(groups) + ["depth-ambiguous", "all (mean over images)", "mean of the families"]
    groups["depth-ambiguous"] = [r for r in rows if r["ambiguous"]]
    groups["all (mean over images)"] = rows
    out = ["| family | n | MediaPipe MPJPE | fit MPJPE | MediaPipe PA-MPJPE | fit PA-MPJPE | MediaPipe PA limbs "
           "| fit PA limbs | fit 2D px | fit PA < MediaPipe |", "|---|---|---|---|---|---|---|---|---|---|"]
    fams = sorted(k for k in groups if k not in order[-3:])
    for k in order:
        g = groups.get(k, [])
        if k == "mean of the families":
            vals = {(s, m): np.mean([np.mean([r[s][m] for r in groups[f]]) for f in fams])
                    for s in ("mp", "fit") for m in METRICS}
            px = np.mean([np.nanmean([r["px"] for r in groups[f]]) for f in fams])
            n, wins = sum(len(groups[f]) for f in fams), ""
        elif not g:
            continue
        else:
            vals = {(s, m): np.mean([r[s][m] for r in g]) for s in ("mp", "fit") for m in METRICS}
            px, n = np.nanmean([r["px"] for r in g]), len(g)
            wins = f"{sum(r['fit']['pa'] < r['mp']['pa'] for r in g)}/{len(g)}"
        out.append(f"| {k} | {n} | {vals['mp', 'mpjpe']:.1f} | {vals['fit', 'mpjpe']:.1f} | {vals['mp', 'pa']:.1f} | "
                   f"{vals['fit', 'pa']:.1f} | {vals['mp', 'pa_limbs']:.1f} | {vals['fit', 'pa_limbs']:.1f} | "
                   f"{px:.1f} | {wins} |")
    return out


def test_photo_3d():
    from inference.body.load import load_body

    items = load_set(SET)
    if not items:
        pytest.skip(f"no rendered set under {SET} (scripts/render_photo_set.py; $BODYRIG_PHOTO3D)")
    data = load_body("open")
    evaluate(items[:1], data)  # warm-up: imports, models (scored again below)
    t0 = time.perf_counter()
    rows, missed, wrong = evaluate(items, data)
    print(f"\n{SET}: {len(items)} images, {len(rows)} scored; no person found in {len(missed)} "
          f"({', '.join(missed) or '-'}), another person found in {len(wrong)} ({', '.join(wrong) or '-'}); "
          f"{time.perf_counter() - t0:.0f} s")
    print("Millimetres over hips, knees, ankles, shoulders, elbows, wrists; MPJPE with the mid-hips aligned, "
          "PA after a similarity; 'PA limbs' = the PA error of knees, ankles, elbows, wrists only (MediaPipe's "
          "hip and shoulder landmarks are not SMPL's joints: they sit higher/wider; not corrected here). "
          "2D px: the fit's projected joints vs the truth's, joints inside the picture. depth-ambiguous: a "
          "limb segment (upper arm, forearm, thigh, shin) within 30 deg of the line of sight.")
    print("\n".join(table(rows)))
    worst = sorted(rows, key=lambda r: r["fit"]["pa"] - r["mp"]["pa"], reverse=True)[:8]
    print("\nWorst images (fit PA-MPJPE minus MediaPipe's): " +
          "; ".join(f"{r['name']} {r['fit']['pa']:.0f} vs {r['mp']['pa']:.0f}" for r in worst))
    if os.environ.get("BODYRIG_PHOTO3D_JSON"):
        report = {"rows": rows, "missed": missed, "wrong": wrong}
        Path(os.environ["BODYRIG_PHOTO3D_JSON"]).write_text(json.dumps(report, indent=1))
    for r in rows:
        assert all(np.isfinite(v) for s in ("fit", "mp") for v in r[s].values()), r["name"]
    assert len(rows) >= len(items) // 2, "MediaPipe found no person in most images: is the set broken?"
