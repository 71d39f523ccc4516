"""Motion .npz files are written in AMASS's own frame (Z up, floor = the XY plane), read back into the Y-up world
frame exactly, and old Y-up files of ours still read as they were. Checked against an independent reading of
AMASS's convention: the saved `poses`/`trans` put through plain smplx with the open body's .pkl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.errors import BadInputError
from inference.motion_io import load_motion, save_motion
from inference.results import MotionFit

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def open_pkl(tmp_path_factory):
    """The open body as a user gets it for other SMPL tools: `python -m inference body open --out X.pkl`."""
    out = tmp_path_factory.mktemp("open") / "open_body.pkl"
    res = subprocess.run([sys.executable, "-m", "inference", "body", "open", "--out", str(out), "--quiet"],
                         capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                         timeout=300)
    assert res.returncode == 0, res.stderr
    return out


def _standing_world_motion(betas, rest_vertices, rest_pelvis=None):
    """A body standing in the Y-up world frame: rest pose, turned about the vertical (Y) by a different yaw each
    frame, walking over the floor, its soles (lowest rest vertex) on y = 0."""
    yaw = np.array([0.0, 0.8, 2.5, -1.9])
    pose = np.zeros((4, 24, 3))
    pose[:, 0, 1] = yaw  # about +Y: stays upright
    transl = np.array([[0.3, 0.0, -0.5], [0.6, 0.0, 0.1], [-1.2, 0.0, 2.0], [2.0, 0.0, 0.4]])
    transl[:, 1] = -rest_vertices[:, 1].min()  # a turn about Y keeps every height: the soles stay at 0
    meta = {"source": "test"} if rest_pelvis is None else {"rest_pelvis": list(rest_pelvis)}
    return MotionFit(pose=pose, transl=transl, betas=betas, fps=30.0, body_model="open", metadata=meta)


def test_saved_npz_stands_on_z0_with_its_head_up_through_plain_smplx(tmp_path, open_pkl):
    import smplx
    import torch

    from inference.body.load import load_body

    data = load_body("open")
    betas = np.random.default_rng(3).normal(0, 0.8, 10)
    verts, joints = data.shaped(betas)
    world = _standing_world_motion(betas, verts)  # no stored rest pelvis: saving finds the open body's
    path = save_motion(world, tmp_path / "walk.npz")

    with np.load(path, allow_pickle=False) as f:  # what an AMASS tool reads
        poses, trans, saved_betas = f["poses"], f["trans"], f["betas"]
    model = smplx.SMPL(model_path=str(open_pkl), num_betas=10, dtype=torch.float64)
    with torch.no_grad():
        out = model(global_orient=torch.as_tensor(poses[:, :3]), body_pose=torch.as_tensor(poses[:, 3:]),
                    betas=torch.as_tensor(np.tile(saved_betas, (len(poses), 1))), transl=torch.as_tensor(trans))
    v, j = out.vertices.numpy(), out.joints.numpy()
    np.testing.assert_allclose(v[..., 2].min(axis=1), 0.0, atol=2e-4)  # soles on the floor, z = 0, every frame
    height = verts[:, 1].max() - verts[:, 1].min()
    np.testing.assert_allclose(v[..., 2].max(axis=1), height, atol=2e-4)  # the whole height along +z
    assert (j[:, 15, 2] > j[:, 0, 2] + 0.3).all() and (j[:, 0, 2] > j[:, 10, 2] + 0.3).all()  # head, pelvis, feet
    # the floor position: world (x, z) is AMASS's (x, -y); the pelvis sits over its world spot
    pelvis_world = joints[0] + world.transl
    np.testing.assert_allclose(j[:, 0, 0], pelvis_world[:, 0], atol=2e-4)
    np.testing.assert_allclose(j[:, 0, 1], -pelvis_world[:, 2], atol=2e-4)


def test_round_trip_back_to_the_world_frame(tmp_path):
    rng = np.random.default_rng(0)
    pelvis = [0.01, -0.23, 0.02]
    m = MotionFit(pose=rng.normal(0, 0.5, (20, 24, 3)), transl=rng.normal(0, 1, (20, 3)),
                  betas=rng.normal(0, 1, 10), fps=25.0, body_model="tiny", metadata={"rest_pelvis": pelvis})
    path = save_motion(m, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(str(f["bodyrig_metadata"]))
        raw_trans = f["trans"]
    assert meta["up_axis"] == "z" and meta["frame"] == "amass_z_up" and meta["version"] == 2
    np.testing.assert_allclose(meta["rest_pelvis"], pelvis)
    # the turn: world (x, y, z) → AMASS (x, -z, y), applied to the pelvis J0 + t
    p = np.asarray(pelvis) + m.transl
    np.testing.assert_allclose(raw_trans + pelvis, np.stack([p[:, 0], -p[:, 2], p[:, 1]], -1), atol=1e-12)
    back = load_motion(path)
    assert back.metadata["frame"] == "world" and "up_axis" not in back.metadata
    np.testing.assert_allclose(back.transl, m.transl, atol=1e-12)
    from inference.rotations import axis_angle_to_matrix

    np.testing.assert_allclose(axis_angle_to_matrix(back.pose), axis_angle_to_matrix(m.pose), atol=1e-12)


def _old_file(path, up_axis=None):
    """A motion as BodyRig wrote it before the Z-up format (version 1, the Y-up world under AMASS's keys)."""
    rng = np.random.default_rng(5)
    meta = {"frame": "world", "version": 1, "units": "metres"}
    if up_axis is not None:
        meta["up_axis"] = up_axis
    poses, trans = rng.normal(0, 0.3, (6, 72)), rng.normal(0, 1, (6, 3))
    np.savez(path, poses=poses, trans=trans, betas=np.zeros(10), gender=np.array("neutral"),
             mocap_framerate=np.array(30.0), bodyrig_metadata=np.array(json.dumps(meta)))
    return poses, trans


def test_old_y_up_files_read_as_they_are(tmp_path):
    poses, trans = _old_file(tmp_path / "old.npz")
    m = load_motion(tmp_path / "old.npz", rest_pelvis=[0.0, -0.2, 0.0])
    np.testing.assert_array_equal(m.pose.reshape(6, 72), poses)
    np.testing.assert_array_equal(m.transl, trans)
    assert m.metadata["frame"] == "world"
    _old_file(tmp_path / "y.npz", up_axis="y")
    np.testing.assert_array_equal(load_motion(tmp_path / "y.npz").transl, trans)


def test_unknown_up_axis_is_refused(tmp_path):
    _old_file(tmp_path / "x.npz", up_axis="x")
    with pytest.raises(BadInputError, match="up_axis"):
        load_motion(tmp_path / "x.npz")


def test_a_motion_still_in_amass_frame_is_written_as_it_is(tmp_path):
    """An AMASS file read without a body (frame amass_z_up, not turned) is saved unturned, and reads back the
    same way (its caller turns it with the body's rest pelvis)."""
    rng = np.random.default_rng(2)
    poses, trans = rng.normal(0, 0.3, (5, 72)), rng.normal(0, 1, (5, 3))
    np.savez(tmp_path / "amass.npz", poses=poses, trans=trans, betas=np.zeros(16), mocap_framerate=np.array(60.0))
    m = load_motion(tmp_path / "amass.npz")
    assert m.metadata["frame"] == "amass_z_up"
    save_motion(m, tmp_path / "again.npz")
    with np.load(tmp_path / "again.npz") as f:
        np.testing.assert_array_equal(f["trans"], trans)
    back = load_motion(tmp_path / "again.npz")
    assert back.metadata["frame"] == "amass_z_up"
    np.testing.assert_array_equal(back.transl, trans)


def test_smpl_files_stay_y_up(tmp_path):
    """.smpl is smplcodec's: no axes turned (its bodies live in Y-up glTF scenes)."""
    from smplcodec import SMPLCodec

    m = _standing_world_motion(np.zeros(10), np.array([[0.0, -1.1, 0.0]]), rest_pelvis=[0.0, -0.2, 0.0])
    save_motion(m, tmp_path / "m.smpl")
    codec = SMPLCodec.from_file(tmp_path / "m.smpl")
    np.testing.assert_allclose(codec.body_translation, m.transl, atol=1e-6)
    np.testing.assert_allclose(load_motion(tmp_path / "m.smpl").transl, m.transl, atol=1e-6)


@pytest.mark.parametrize("pelvis", [None, "abc", [1, 2], [0, float("nan"), 0], [[0, 1], 2, 3], [0, 1e6, 0]])
def test_a_z_up_file_without_a_usable_rest_pelvis_is_left_to_the_caller_like_amass(tmp_path, pelvis):
    """No usable rest pelvis in a Z-up file of ours: it reads like an AMASS file (frame amass_z_up, unturned),
    which the import turns with the body's own rest pelvis; never an exception other than BadInputError."""
    rng = np.random.default_rng(4)
    trans = rng.normal(0, 1, (3, 3))
    meta = {"frame": "amass_z_up", "up_axis": "z", "version": 2}
    if pelvis is not None:
        meta["rest_pelvis"] = pelvis
    np.savez(tmp_path / "z.npz", poses=np.zeros((3, 72)), trans=trans, mocap_framerate=np.array(30.0),
             bodyrig_metadata=np.array(json.dumps(meta)))
    m = load_motion(tmp_path / "z.npz")
    assert m.metadata["frame"] == "amass_z_up"
    np.testing.assert_array_equal(m.transl, trans)
    turned = load_motion(tmp_path / "z.npz", rest_pelvis=[0.0, 0.0, 0.0])
    assert turned.metadata["frame"] == "world"
    np.testing.assert_allclose(turned.transl, trans[:, [0, 2, 1]] * [1, 1, -1], atol=1e-12)
