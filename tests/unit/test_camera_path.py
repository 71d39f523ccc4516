"""The camera path of a motion (inference.camera.CameraPath): geometry, checks, and its round trip through .npz."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.camera import CameraPath, PinholeCamera
from inference.conventions import CAMERA_TO_WORLD
from inference.errors import BadInputError, BodyRigError
from inference.motion_io import load_motion, save_motion
from inference.results import MotionFit
from inference.rotations import axis_angle_to_matrix

K = PinholeCamera(800.0, 800.0, 320.0, 240.0, 640.0, 480.0)


def _path(t=6, seed=0):
    rng = np.random.default_rng(seed)
    rot = axis_angle_to_matrix(rng.normal(0, 0.2, (t, 3))) @ CAMERA_TO_WORLD
    return CameraPath(rot, rng.normal(0, 1, (t, 3)), K, video="/clips/walk.mp4")


def test_projection_follows_the_pinhole_rule_per_frame():
    # a camera 2 m up looking along the world's -Z, turned 10 degrees to its left (about world +Y) in frame 1
    yaw = axis_angle_to_matrix(np.array([[0.0, 0.0, 0.0], [0.0, np.radians(10), 0.0]]))
    path = CameraPath(yaw @ CAMERA_TO_WORLD, np.array([[0, 2.0, 0], [0, 2.0, 0]]), K)
    point = np.array([0.0, 2.0, -5.0])  # straight ahead at the camera's height, 5 m away
    uv = path.project(np.tile(point, (2, 1, 1)))
    np.testing.assert_allclose(uv[0, 0], [320, 240], atol=1e-9)
    # turned left, the point moves right in the image by f·tan(10°), and stays on the horizon row
    np.testing.assert_allclose(uv[1, 0], [320 + 800 * np.tan(np.radians(10)), 240], atol=1e-9)
    back = path.camera_to_world(path.world_to_camera(np.tile(point, (2, 1, 1))))
    np.testing.assert_allclose(back, np.tile(point, (2, 1, 1)), atol=1e-12)


@pytest.mark.parametrize("rot, pos", [
    (np.tile(np.eye(3) * 1.01, (3, 1, 1)), np.zeros((3, 3))),  # not orthonormal
    (np.tile(np.diag([1.0, 1.0, -1.0]), (3, 1, 1)), np.zeros((3, 3))),  # a reflection
    (np.tile(np.eye(3), (3, 1, 1)), np.zeros((2, 3))),  # frame counts differ
    (np.tile(np.eye(3), (3, 1, 1)), np.full((3, 3), np.nan)),
], ids=["scaled", "reflection", "count", "nan"])
def test_bad_paths_are_refused(rot, pos):
    with pytest.raises(BodyRigError):
        CameraPath(rot, pos, K)


def test_a_motion_checks_its_camera_has_its_frames():
    with pytest.raises(BodyRigError, match="frames"):
        MotionFit(pose=np.zeros((5, 24, 3)), transl=np.zeros((5, 3)), betas=np.zeros(10), fps=30, camera=_path(6))


def _motion(t=6, camera=True):
    rng = np.random.default_rng(3)
    return MotionFit(pose=rng.normal(0, 0.3, (t, 24, 3)), transl=rng.normal(0, 1, (t, 3)), betas=np.zeros(10),
                     fps=30, metadata={"rest_pelvis": [0.0, -0.2, 0.02]}, camera=_path(t) if camera else None)


def test_npz_round_trip_keeps_the_camera(tmp_path):
    m = _motion()
    back = load_motion(save_motion(m, tmp_path / "m.npz"))
    np.testing.assert_allclose(back.camera.rotation, m.camera.rotation, atol=1e-12)
    np.testing.assert_allclose(back.camera.position, m.camera.position, atol=1e-12)
    assert back.camera.intrinsics == K and back.camera.video == "/clips/walk.mp4"
    assert "camera" not in back.metadata  # the entry became the CameraPath


def test_the_file_holds_the_camera_z_up_like_its_body(tmp_path):
    """Read with plain numpy: a level camera 1.5 m above the floor looking along the world's -Z is, in AMASS's
    frame, 1.5 m up (z) with its image-down axis pointing to -Z and its forward axis along +Y."""
    m = _motion(t=2)
    m.camera = CameraPath.still(2, K).turned(np.eye(3), (0.0, 1.5, 0.0))
    save_motion(m, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        rot, pos = f["camera_rotation"], f["camera_position"]
        meta = json.loads(str(f["bodyrig_metadata"]))
    np.testing.assert_allclose(pos, [[0, 0, 1.5]] * 2, atol=1e-12)
    np.testing.assert_allclose(rot[:, :, 1], [[0, 0, -1]] * 2, atol=1e-12)  # image down = AMASS down
    np.testing.assert_allclose(rot[:, :, 2], [[0, 1, 0]] * 2, atol=1e-12)  # forward: world -Z → AMASS +Y
    assert {k: meta["camera"][k] for k in ("fx", "width", "height")} == {"fx": 800.0, "width": 640.0,
                                                                         "height": 480.0}


def test_no_camera_stays_none_and_smpl_drops_it(tmp_path):
    assert load_motion(save_motion(_motion(camera=False), tmp_path / "m.npz")).camera is None
    assert load_motion(save_motion(_motion(), tmp_path / "m.smpl")).camera is None


def _rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays.update(changes)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)


@pytest.mark.parametrize("change", [
    {"camera_position": None},
    {"camera_rotation": np.full((6, 3, 3), np.inf)},
    {"camera_rotation": np.tile(np.eye(3), (5, 1, 1))},
    {"camera_rotation": np.tile(np.eye(3) * 0.5, (6, 1, 1))},
    {"camera_position": np.full((6, 3), 1e12)},
], ids=["partial", "inf", "frames", "not_rotation", "absurd"])
def test_broken_cameras_in_files_are_bad_input(tmp_path, change):
    path = save_motion(_motion(), tmp_path / "m.npz")
    _rewrite(path, **change)
    with pytest.raises(BadInputError, match="m.npz"):
        load_motion(path)
