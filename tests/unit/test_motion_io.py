"""Motion files: our AMASS-style .npz, real-AMASS layouts, Meshcapade's .smpl, and bad files."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from inference.errors import BadInputError
from inference.motion_io import Z_UP_TO_Y_UP, amass_to_world, load_motion, save_motion
from inference.results import MotionFit


def _motion(t=50, fps=29.97, seed=0) -> MotionFit:
    rng = np.random.default_rng(seed)
    detected = rng.random(t) > 0.2
    return MotionFit(pose=rng.normal(0, 0.4, (t, 24, 3)), transl=rng.normal(0, 1, (t, 3)),
                     betas=rng.normal(0, 1, 10), fps=fps, detected=detected, filled=~detected,
                     body_model="open", gender="female", metadata={"source": "test.mp4", "fit_loss": 0.25})


def test_npz_round_trip_every_field(tmp_path):
    m = _motion()
    path = save_motion(m, tmp_path / "walk.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["walk.npz"]  # no temp file left, no ".npz.npz"
    back = load_motion(path)
    np.testing.assert_allclose(back.pose, m.pose, atol=1e-12)  # written Z up, turned back: rounding only
    np.testing.assert_allclose(back.transl, m.transl, atol=1e-12)
    np.testing.assert_array_equal(back.betas, m.betas)
    np.testing.assert_array_equal(back.detected, m.detected)
    np.testing.assert_array_equal(back.filled, m.filled)
    assert back.fps == 29.97 and back.num_frames == 50
    assert (back.gender, back.body_model) == ("female", "open")
    assert back.metadata["source"] == "test.mp4" and back.metadata["fit_loss"] == 0.25
    assert back.metadata["frame"] == "world"


def test_npz_uses_amass_keys_readable_without_bodyrig(tmp_path):
    """Any AMASS tool reading plain numpy sees AMASS's keys and shapes, no pickles needed."""
    m = _motion(t=7, fps=60)
    save_motion(m, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        assert f["poses"].shape == (7, 72) and f["trans"].shape == (7, 3) and f["betas"].shape == (10,)
        assert str(f["gender"]) == "female" and float(f["mocap_framerate"]) == 60.0
        np.testing.assert_array_equal(f["poses"][:, 3:6], m.pose[:, 1])  # joint-major layout: left_hip
        meta = json.loads(str(f["bodyrig_metadata"]))
    assert meta["units"].startswith("metres") and meta["frame"] == "amass_z_up" and meta["version"] == 2
    assert meta["up_axis"] == "z"  # AMASS's own frame (tests/unit/test_amass_frame.py)


def _amass_file(path, t=12, seed=1, frame_key="mocap_framerate", gender=b"male"):
    rng = np.random.default_rng(seed)
    poses = rng.normal(0, 0.3, (t, 156))
    np.savez(path, poses=poses, trans=rng.normal(0, 1, (t, 3)), betas=rng.normal(0, 1, 16),
             gender=np.array(gender), **{frame_key: np.array(120.0)})
    return poses


def test_amass_smplh_file_keeps_22_body_joints_and_zeroes_hands(tmp_path):
    poses = _amass_file(tmp_path / "amass.npz")
    m = load_motion(tmp_path / "amass.npz")
    assert m.pose.shape == (12, 24, 3) and m.fps == 120.0 and m.gender == "male"
    np.testing.assert_array_equal(m.pose[:, :22].reshape(12, -1), poses[:, :66])
    np.testing.assert_array_equal(m.pose[:, 22:], 0.0)
    assert m.betas.shape == (16,)
    assert m.metadata["frame"] == "amass_z_up" and "22 body joints" in m.metadata["notes"][0]


def test_amass_smplx_layout_with_separate_arrays(tmp_path):
    rng = np.random.default_rng(2)
    root, body = rng.normal(size=(5, 3)), rng.normal(size=(5, 63))
    np.savez(tmp_path / "x.npz", root_orient=root, pose_body=body, pose_hand=rng.normal(size=(5, 90)),
             trans=np.zeros((5, 3)), betas=np.zeros(16), gender=np.array("neutral"),
             mocap_frame_rate=np.array(30.0))
    m = load_motion(tmp_path / "x.npz")
    np.testing.assert_array_equal(m.pose[:, 0], root)
    np.testing.assert_array_equal(m.pose[:, 1:22].reshape(5, -1), body)
    assert m.fps == 30.0


def test_amass_to_world_matches_rotating_joints(tmp_path):
    """Turning Z-up → Y-up must move every body point x to W x (checked on the pelvis and a child joint)."""
    from inference.rotations import axis_angle_to_matrix

    _amass_file(tmp_path / "a.npz", t=4)
    j0 = np.array([0.001, -0.21, 0.03])
    offset = np.array([0.07, -0.08, 0.0])  # a rest point relative to the pelvis
    zup = load_motion(tmp_path / "a.npz")
    yup = load_motion(tmp_path / "a.npz", rest_pelvis=j0)
    assert yup.metadata["frame"] == "world"

    def point(m):  # posed position of the rest point j0 + offset under the root rotation and translation
        return np.einsum("tij,j->ti", axis_angle_to_matrix(m.pose[:, 0]), offset) + j0 + m.transl

    np.testing.assert_allclose(point(yup), point(zup) @ Z_UP_TO_Y_UP.T, atol=1e-12)
    np.testing.assert_array_equal(yup.pose[:, 1:], zup.pose[:, 1:])
    np.testing.assert_allclose(amass_to_world(zup, j0).pose, yup.pose)
    # Z up → Y up: the world's +Z becomes +Y.
    np.testing.assert_allclose(Z_UP_TO_Y_UP @ [0, 0, 1], [0, 1, 0])


def test_smpl_round_trip_via_smplcodec(tmp_path):
    from smplcodec import SMPLCodec, SMPLVersion

    m = _motion(t=20)
    save_motion(m, tmp_path / "m.smpl")
    codec = SMPLCodec.from_file(tmp_path / "m.smpl")  # Meshcapade's own reader accepts it
    assert codec.smpl_version == SMPLVersion.SMPL and codec.frame_count == 20
    np.testing.assert_allclose(codec.body_pose, m.pose, atol=1e-6)
    back = load_motion(tmp_path / "m.smpl")
    np.testing.assert_allclose(back.pose, m.pose, atol=1e-6)  # float32 in the file
    np.testing.assert_allclose(back.transl, m.transl, atol=1e-6)
    np.testing.assert_allclose(back.betas, m.betas, atol=1e-6)
    assert back.fps == 29.97 and back.gender == "female"


def test_smplx_smpl_file_pads_hands(tmp_path):
    from smplcodec import SMPLCodec, SMPLGender, SMPLVersion

    body = np.random.default_rng(3).normal(size=(3, 22, 3))
    SMPLCodec(smpl_version=SMPLVersion.SMPLX, gender=SMPLGender.MALE, shape_parameters=np.zeros(10),
              frame_count=3, frame_rate=25.0, body_translation=np.zeros((3, 3)), body_pose=body,
              ).write(tmp_path / "x.smpl")
    m = load_motion(tmp_path / "x.smpl")
    np.testing.assert_allclose(m.pose[:, :22], body, atol=1e-6)
    np.testing.assert_array_equal(m.pose[:, 22:], 0.0)
    assert m.fps == 25.0 and m.gender == "male"


@pytest.mark.parametrize("suffix", [".npz", ".smpl"])
def test_corrupt_and_truncated_files_raise_bad_input(tmp_path, suffix):
    bad = tmp_path / f"junk{suffix}"
    bad.write_bytes(b"this is not a zip archive at all")
    with pytest.raises(BadInputError, match="junk"):
        load_motion(bad)
    good = tmp_path / f"good{suffix}"
    save_motion(_motion(t=5), good)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(BadInputError):
        load_motion(cut)


def test_wrong_content_and_names_raise_bad_input(tmp_path):
    np.savez(tmp_path / "noposes.npz", trans=np.zeros((3, 3)))
    with pytest.raises(BadInputError, match="no 'poses'"):
        load_motion(tmp_path / "noposes.npz")
    np.savez(tmp_path / "short.npz", poses=np.zeros((3, 30)), mocap_framerate=30.0)
    with pytest.raises(BadInputError, match="shape"):
        load_motion(tmp_path / "short.npz")
    np.savez(tmp_path / "mism.npz", poses=np.zeros((3, 72)), trans=np.zeros((4, 3)), mocap_framerate=30.0)
    with pytest.raises(BadInputError, match="trans"):
        load_motion(tmp_path / "mism.npz")
    with zipfile.ZipFile(tmp_path / "pickled.npz", "w") as z:  # an object array needs pickle: refused
        with z.open("poses.npy", "w") as f:
            np.save(f, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(BadInputError):
        load_motion(tmp_path / "pickled.npz")
    with pytest.raises(BadInputError, match="gender"):
        save_motion(MotionFit(pose=np.zeros((2, 24, 3)), transl=np.zeros((2, 3)), betas=np.zeros(10), fps=30,
                              gender="robot"), tmp_path / "g.smpl")
    assert not (tmp_path / "g.smpl").exists()
    with pytest.raises(BadInputError, match="unknown motion file type"):
        save_motion(_motion(t=2), tmp_path / "m.bvh")
    with pytest.raises(BadInputError, match="not found"):
        load_motion(tmp_path / "missing.npz")
