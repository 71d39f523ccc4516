"""The video pipeline on a tiny moving-camera clip with a known truth (issue 16): the rendered pixels agree with the
truth's camera, and the pipeline's output is sane under a moving camera (loose bounds; the numbers are in
bench/RESULTS.md, from bench/bench_video_moving.py on the longer clips).

The clip (45 frames, 180x320, 30 fps: the open body walking and turning 30° while the camera walks ahead of it)
and its truth were made with:

    nice -n 10 .venv/bin/python scripts/render_gt_video.py --camera walk_along --out tests/e2e/data/gt_moving \\
        --seconds 1.5 --turn 30 --samples 2 --width 180 --height 320
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "e2e" / "data" / "gt_moving"
CLIP = DATA / "walk_along.mp4"


def _truth() -> dict:
    with np.load(DATA / "walk_along.npz") as z:
        return {k: z[k] for k in z.files}


def _open_body():
    from inference.body.load import load_body
    from inference.cache import cache_dir

    cached = cache_dir() / "open_body_v1.npz"
    try:
        return load_body(str(cached) if cached.is_file() else "open")
    except Exception as exc:  # noqa: BLE001 - any reason the open body is not there
        pytest.skip(f"open body not available: {exc}")


def _project(truth, points, frame):
    """World points [N,3] → pixels [N,2] through the truth's camera at `frame`: x_cam = R^T (X - C)."""
    fx, fy, cx, cy = truth["intrinsics"][:4]
    cam = (points - truth["camera_position"][frame]) @ truth["camera_rotation"][frame]
    return cam[:, :2] / cam[:, 2:] * [fx, fy] + [cx, cy]


def test_rendered_person_is_where_the_truth_camera_sees_it():
    """MediaPipe's hips and ankles on the rendered frames land near the truth's joints projected through the
    truth's camera: the camera path written is the one that rendered the pixels (axes, signs, intrinsics)."""
    from inference.body.kinematics import motion_joints
    from inference.body.load import body_model
    from inference.detect import detect_person

    truth = _truth()
    model = body_model(_open_body(), "cpu")
    joints = motion_joints(model, truth["pose"], truth["betas"], truth["transl"])
    cap = cv2.VideoCapture(str(CLIP))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    assert len(frames) == len(truth["pose"])
    h = truth["intrinsics"][5]
    for i in (0, len(frames) // 2, len(frames) - 1):
        kp = detect_person(cv2.cvtColor(frames[i], cv2.COLOR_BGR2RGB)).keypoints2d
        seen = np.stack([kp[[23, 24], :2].mean(0), kp[[27, 28], :2].mean(0)])  # MediaPipe hips, ankles
        want = _project(truth, np.stack([joints[i, [1, 2]].mean(0), joints[i, [7, 8]].mean(0)]), i)
        assert np.linalg.norm(seen - want, axis=1).max() < 0.08 * h, (i, seen, want)


@pytest.mark.slow  # the first second of the clip through fit_video: 5 s on a quiet machine (100 s seen at load 15)
def test_pipeline_output_is_sane_under_a_moving_camera():
    """Finite, the person found in most frames, the world root path within a loose bound of the truth's after
    the only alignment a pipeline is owed (a turn about the vertical and a shift along the floor)."""
    from inference import motion_metrics as mm
    from inference.body.kinematics import motion_joints
    from inference.body.load import body_model
    from inference.video import fit_video

    truth = _truth()
    data = _open_body()
    model = body_model(data, "cpu")
    m = fit_video(CLIP, body=data, device="cpu", end=END)  # the first second: the test stays under a minute
    n_truth = int(round(END * float(truth["fps"])))
    assert np.isfinite(m.pose).all() and np.isfinite(m.transl).all() and np.isfinite(m.betas).all()
    assert m.num_frames >= 0.8 * n_truth and m.detected.sum() >= 0.8 * n_truth
    s = int(m.metadata["start_frame"])
    gj = motion_joints(model, truth["pose"], truth["betas"], truth["transl"])[s:s + m.num_frames]
    pj = motion_joints(model, m.pose, m.betas, m.transl)
    assert mm.world_root_error(pj[:, 0], gj[:, 0]) < ROOT_BOUND
    assert mm.world_mpjpe(pj, gj) < MPJPE_BOUND
    assert mm.pa_mpjpe(pj, gj) < 0.12


END = 1.0  # s
# Loose: today's still-camera pipeline (3c748e6) gives a root path error of 0.25 m, WA-MPJPE 0.27 m and PA-MPJPE
# 0.063 m on this first second (0.43 / 0.46 m on the whole tiny clip; bench/RESULTS.md has the longer clips);
# these catch a lost person or a body metres off, not a small regression.
ROOT_BOUND = 0.8  # m
MPJPE_BOUND = 0.8
