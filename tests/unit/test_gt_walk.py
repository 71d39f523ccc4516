"""The moving-camera ground truth of scripts/render_gt_video.py keeps its own promises (no Blender here): the walking
body stands on the floor with planted feet and turns 90°, and the cameras are proper OpenCV-axis rotations that
keep the person in the picture within the stated tilt and roll."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import render_gt_video as gt  # noqa: E402

from inference import motion_metrics as mm  # noqa: E402
from inference.camera import default_focal  # noqa: E402
from inference.conventions import CAMERA_TO_WORLD  # noqa: E402

FPS, FRAMES = 30.0, 90


@pytest.fixture(scope="module")
def walk():
    from inference.body.load import body_model, load_body
    from inference.cache import cache_dir

    cached = cache_dir() / "open_body_v1.npz"
    try:
        data = load_body(str(cached) if cached.is_file() else "open")
    except Exception as exc:  # noqa: BLE001 - any reason the open body is not there
        pytest.skip(f"open body not available: {exc}")
    model = body_model(data, "cpu")
    return model, gt.walk_motion(data, FRAMES, FPS)


def test_look_at_uses_opencv_axes_in_the_world():
    # a level camera looking along -Z is the still camera of the pipeline (world = R_x(pi) camera)
    np.testing.assert_allclose(gt.look_at([0, 1, 0], [0, 1, -5]), CAMERA_TO_WORLD, atol=1e-12)
    r = gt.look_at([0, 2, 0], [3, 0, -4])
    np.testing.assert_allclose(r.T @ r, np.eye(3), atol=1e-12)
    assert np.isclose(np.linalg.det(r), 1.0)
    assert r[1, 0] == pytest.approx(0.0, abs=1e-12)  # no roll: the x (right) axis is level
    np.testing.assert_allclose(r[:, 2], np.array([3, -2, -4]) / np.sqrt(29))  # z looks at the target


def test_walk_stands_on_the_floor_with_planted_feet(walk):
    from inference.body.kinematics import motion_joints
    from inference.body.skeleton import JOINT_INDEX

    import torch

    model, w = walk
    with torch.no_grad():
        out = model.forward(torch.as_tensor(w["pose"], dtype=model.dtype),
                            torch.as_tensor(w["betas"][None], dtype=model.dtype).expand(FRAMES, -1),
                            torch.as_tensor(w["transl"], dtype=model.dtype))
    lowest = out.vertices[..., 1].min(1).values.double().numpy()
    assert np.abs(lowest).max() < 1e-4  # the lowest point of the mesh on y = 0 in every frame
    joints = motion_joints(model, w["pose"], w["betas"], w["transl"])
    feet = [JOINT_INDEX[j] for j in gt.FOOT_CONTACT_JOINTS]
    assert w["contact"].any(0).all() and 0.15 < w["contact"].mean() < 0.6
    assert mm.foot_skate(joints[:, feet], w["contact"]) < 0.003  # < 3 mm a frame while on the floor
    root = joints[:, 0]
    assert np.linalg.norm(np.diff(root[:, [0, 2]], axis=0), axis=1).sum() > 3.0  # ~1.2 m/s over 3 s
    assert 0.9 < root[:, 1].min() and root[:, 1].max() < 1.1  # the pelvis bobs, it does not jump
    front = Rotation.from_rotvec(w["pose"][:, 0]).apply([0.0, 0.0, 1.0])  # the body's front in the world
    np.testing.assert_allclose(front[0], [1, 0, 0], atol=0.05)  # starts heading +X ...
    np.testing.assert_allclose(front[-1], [0, 0, 1], atol=0.1)  # ... ends heading +Z: a 90° turn
    heading = np.arctan2(front[:, 0], front[:, 2])
    assert np.abs(np.diff(heading)).max() < np.radians(4)  # smooth


@pytest.mark.parametrize("kind", gt.MOVING_CAMERAS)
def test_cameras_keep_the_person_in_the_picture(walk, kind):
    from inference.body.kinematics import motion_joints

    model, w = walk
    joints = motion_joints(model, w["pose"], w["betas"], w["transl"])
    heading = np.unwrap(np.arctan2(*Rotation.from_rotvec(w["pose"][:, 0]).apply([0, 0, 1])[:, [0, 2]].T))
    rot, pos = gt.camera_path(kind, joints[:, 0], FPS, heading)
    np.testing.assert_allclose(np.einsum("tji,tjk->tik", rot, rot), np.broadcast_to(np.eye(3), rot.shape),
                               atol=1e-9)
    assert np.allclose(np.linalg.det(rot), 1.0)
    angles = gt.camera_angles(rot)
    assert np.abs(angles["pitch"]).max() <= 16.5 and np.abs(angles["roll"]).max() <= 13.0
    assert np.ptp(angles["pitch"]) > 1.0 or np.ptp(angles["roll"]) > 1.0  # it does move
    w_px, h_px = 360, 640
    f = default_focal(w_px, h_px)
    cam = np.einsum("tji,tnj->tni", rot, joints - pos[:, None])  # world → camera: R^T (X - C)
    assert (cam[..., 2] > 1.0).all()
    uv = cam[..., :2] / cam[..., 2:] * f + [w_px / 2, h_px / 2]
    assert (uv[..., 0] > 0).all() and (uv[..., 0] < w_px).all() and (uv[..., 1] > 0).all() and (uv[..., 1] < h_px).all()
