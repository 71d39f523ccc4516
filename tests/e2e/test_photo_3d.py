"""The photo fit in 3D on six rendered photos with known joints (one per pose family of the 3D evaluation set).

The images and their truth in tests/e2e/data/photo3d/ were made by
    .venv/bin/python scripts/render_photo_set.py --out tests/e2e/data/photo3d --per-family 1 \
        --background procedural --max-kb 60
(procedural backgrounds only: they may be shipped). The full set and its benchmark: bench/bench_photo_3d.py.
Loose bounds: this guards against a broken fit or broken truth, not for accuracy (bench/RESULTS.md has that).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.accuracy_3d import SCORED, error_2d_px, errors_mm, load_set, mediapipe_scored, smpl_scored

DATA = Path(__file__).resolve().parent / "data" / "photo3d"
FAMILIES = {"standing", "sitting", "crouching", "reaching", "turned_away", "cropped"}
MAX_PA_MM = 150.0  # the fit's PA-MPJPE on any of these images (at 3c748e6: 44-110 mm; MediaPipe 43-113 mm)
MAX_2D_PX = 40.0  # the fit's mean 2D error on the uncropped images of 512 px (at 3c748e6: 4-18 px)


@pytest.fixture(scope="module")
def items():
    found = load_set(DATA)
    assert {t["family"] for _, _, t in found} == FAMILIES, "tests/e2e/data/photo3d lacks a family"
    return found


@pytest.fixture(scope="module")
def open_body():
    from inference.body.load import load_body

    return load_body("open")


def test_truth_is_self_consistent(items, open_body):
    import cv2

    from inference.body.kinematics import motion_joints
    from inference.body.load import body_model

    for name, image, t in items:
        h, w = cv2.imread(str(image)).shape[:2]
        assert (w, h) == (int(t["width"]), int(t["height"])), name
        assert image.stat().st_size <= 60 * 1024, name
        # the joints are the body's joints for the stored pose, shape and translation (camera frame)
        again = motion_joints(body_model(open_body, "cpu"), t["pose"][None], t["betas"], t["transl"][None])[0]
        assert np.abs(again - t["joints"]).max() < 1e-3, name
        uv = t["joints"][:, :2] / t["joints"][:, 2:3] * [t["fx"], t["fy"]] + [t["cx"], t["cy"]]
        inside = (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h) & (t["joints"][:, 2] > 0)
        assert (inside == t["in_image"]).all(), name
        scored_inside = smpl_scored(inside[:, None].astype(float))[:, 0] > 0
        if t["family"] == "cropped":
            assert not scored_inside.all(), f"{name}: nothing is cut off"
        else:
            assert inside.all(), f"{name}: a joint falls outside the picture"
        assert 1.0 < t["joints"][:, 2].min() and t["joints"][:, 2].max() < 15.0, name  # in front, a few metres


def test_fit_is_roughly_right_in_3d(items, open_body):
    from inference.pipeline import Settings, fit_photo

    settings = Settings(body=open_body, device="cpu")
    for name, image, t in items:
        res = fit_photo(image, settings)
        gt = smpl_scored(t["joints"])
        fit = errors_mm(smpl_scored(res.fit.joints3d), gt)
        mp = errors_mm(mediapipe_scored(res.detection.world_landmarks), gt)
        assert np.isfinite(list(fit.values()) + list(mp.values())).all(), name
        assert fit["pa"] < MAX_PA_MM, f"{name}: fit PA-MPJPE {fit['pa']:.0f} mm (MediaPipe {mp['pa']:.0f} mm)"
        if t["family"] != "cropped":
            px = error_2d_px(res.fit, t)
            assert px < MAX_2D_PX, f"{name}: the fit's joints are {px:.0f} px off the truth's in the picture"
    assert len(SCORED) == 12
