"""Photo fitting: seconds per photo by stage, and 2D accuracy on the COCO photos against raw MediaPipe.

Run: `.venv/bin/python -m pytest bench/bench_photo.py -m bench -s`. Prints a table for bench/RESULTS.md and
writes overlays (posed mesh over the photo, fitted joints green, COCO annotation red) to $BODYRIG_OVERLAYS
(default /tmp/bodyrig-overlays). Only 000000000785.jpg may be shipped (CC BY 2.0): copy that one to docs/.
Uses the open body when it can be loaded, else the tiny body (said in the output).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy_photos import (draw_overlay, fitted_coco_2d, load_coco, match_annotation,  # noqa: E402
                             score)

from inference.keypoint_map import COCO_TO_MEDIAPIPE  # noqa: E402

pytestmark = pytest.mark.bench
PHOTOS = Path(os.environ.get("BODYRIG_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "data" / "photos"


def _body():
    from inference.body.load import load_body
    from inference.errors import BodyRigError

    try:
        return "open", load_body("open")
    except (BodyRigError, ImportError, OSError) as exc:
        print(f"open body unavailable ({exc.__class__.__name__}: {exc}); using the tiny body")
        return "tiny", load_body("tiny")


def test_photo_accuracy_and_speed():
    import imageio.v3 as iio

    if not (PHOTOS / "coco_annotations.json").is_file():
        pytest.skip("../shared/data/photos is absent on this machine")
    photos_dir = PHOTOS
    from inference.photo import fit_image

    name, data = _body()
    coco = load_coco(photos_dir)
    out_dir = Path(os.environ.get("BODYRIG_OVERLAYS", "/tmp/bodyrig-overlays"))
    out_dir.mkdir(parents=True, exist_ok=True)
    fit_image(photos_dir / sorted(coco)[0], body=data, device="cpu")  # warm-up: imports, model load
    rows, timings = [], []
    for f in sorted(coco):
        fit = fit_image(photos_dir / f, body=data, device="cpu")
        ann = match_annotation(coco[f], fit.keypoints2d)
        pred, verts, joints = fitted_coco_2d(fit, data)
        valid = np.isfinite(pred).all(1)
        fit_s = score(pred, ann)
        mp_s = score(fit.keypoints2d[list(COCO_TO_MEDIAPIPE), :2], ann, valid)
        rows.append((f, fit_s, mp_s))
        timings.append(fit.timings)
        iio.imwrite(out_dir / f"overlay_{Path(f).stem}.png", draw_overlay(iio.imread(photos_dir / f), fit, data,
                                                                          verts, joints, ann))
    print(f"\nbody: {name}; PCK@0.1 of the person box / mean 2D error px / keypoints scored")
    print("| photo | fit PCK@0.1 | fit err px | MediaPipe PCK@0.1 | MediaPipe err px | n |")
    print("|---|---|---|---|---|---|")
    for f, (p, e, n), (mp, me, _) in rows:
        print(f"| {f} | {p:.2f} | {e:.1f} | {mp:.2f} | {me:.1f} | {n} |")
    def mean(k):
        return float(np.mean([r[k][0] for r in rows])), float(np.mean([r[k][1] for r in rows]))

    (fp, fe), (mp, me) = mean(1), mean(2)
    print(f"| mean | {fp:.2f} | {fe:.1f} | {mp:.2f} | {me:.1f} | |")
    stages = sorted({k for t in timings for k in t})
    print("seconds per photo (mean over photos, warm): " +
          ", ".join(f"{k} {np.mean([t.get(k, 0.0) for t in timings]):.2f}" for k in stages) +
          f", total {np.mean([sum(t.values()) for t in timings]):.2f}")
    # the fit must not be much worse than the keypoints it was fitted to
    assert fp >= mp - 0.1 and fe <= me * 1.5 + 5
