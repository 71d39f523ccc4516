"""The photo fit's 3D evidence: the robust bone-direction term, the per-limb depth hypotheses and the focal length
estimated from the world landmarks, on synthetic bodies with known answers."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from inference.body import BodyModel, tiny_model
from inference.body.skeleton import JOINT_INDEX as J
from inference.fit import FitOptions, FrameTerms, fit_keypoints
from inference.focal import focal_from_landmarks
from inference.init_pose import FLIPPABLE_BONES, depth_flips
from inference.keypoint_map import MP, KeypointMap

W, H = 640, 480


@pytest.fixture(scope="module")
def model():
    return BodyModel(tiny_model())


def _observe(model, pose, transl, f, size=(W, H)):
    """MediaPipe-format keypoints [33,3] and hip-centred world landmarks [33,3] of the posed body seen with a
    pinhole of focal f (principal point at the centre), and its 24 joints [24,3] in the camera frame."""
    with torch.no_grad():
        joints = model(pose[None], np.zeros((1, model.num_betas)), transl[None]).joints[0].double().numpy()
    kmap = KeypointMap(model.joint_names)
    kp, world = np.zeros((33, 3)), np.zeros((33, 3))
    for j, row in zip(kmap.joint_index, kmap.mp_matrix):
        for m in np.flatnonzero(row):
            x, y, z = joints[j]
            kp[m] = [f * x / z + size[0] / 2, f * y / z + size[1] / 2, 0.95]
            world[m] = joints[j]
    world -= 0.5 * (world[MP["left_hip"]] + world[MP["right_hip"]])
    return kp, world, joints[:24]


def _pose(turn_deg=20.0):
    pose = np.zeros((24, 3))
    pose[0] = (Rotation.from_euler("y", turn_deg, degrees=True) * Rotation.from_rotvec([np.pi, 0, 0])).as_rotvec()
    return pose


def test_depth_flips_reverse_one_bone_and_keep_the_others():
    rng = np.random.default_rng(3)
    world = rng.normal(0, 0.3, (2, 33, 3))
    out = depth_flips(world)
    assert out.shape == (2, 1 + len(FLIPPABLE_BONES), 33, 3)
    np.testing.assert_array_equal(out[:, 0], world)
    for f, (a, b) in enumerate(FLIPPABLE_BONES, 1):
        bone = lambda w, p, q: w[:, MP[q]] - w[:, MP[p]]  # noqa: E731
        before, after = bone(world, a, b), bone(out[:, f], a, b)
        np.testing.assert_allclose(after[:, :2], before[:, :2])
        np.testing.assert_allclose(after[:, 2], -before[:, 2])
        # every other limb bone keeps its vector (the landmarks below the flipped one move with it)
        for p, q in FLIPPABLE_BONES:
            if (p, q) != (a, b):
                np.testing.assert_allclose(bone(out[:, f], p, q), bone(world, p, q), atol=1e-12)


def test_bone_term_is_robust_to_a_wrong_landmark_direction(model):
    """A bone pointing opposite to MediaPipe's costs at most w_bone3d x its weight x sigma3d² (Geman-McClure),
    not 2 x w_bone3d as 1 - cos did: a landmark error cannot outweigh the 2D evidence without bound."""
    kmap = KeypointMap(model.joint_names)
    opt = FitOptions()
    m, nb = len(kmap), len(kmap.bones)
    t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float64)  # noqa: E731
    joints = t(np.random.default_rng(0).normal(0, 0.3, (1, m, 3)) + [0, 0, 3])
    d = joints[:, kmap.bones[:, 1]] - joints[:, kmap.bones[:, 0]]
    d = d / d.norm(dim=-1, keepdim=True)
    cam = t([[500.0, 500.0, 320.0, 240.0]])
    tgt = joints[..., :2] / joints[..., 2:] * 500 + t([320.0, 240.0])  # 2D exactly on the keypoints
    body = torch.zeros(1, 23, 3, dtype=torch.float64)
    w3d = t(np.ones((1, nb)))
    args = (opt, kmap, tgt, t(np.ones((1, m))), cam, t([100.0]), body)
    same = FrameTerms(*args, d, w3d)(joints, torch.zeros(1, 3, dtype=torch.float64), body, True)
    opposite = FrameTerms(*args, -d, w3d)(joints, torch.zeros(1, 3, dtype=torch.float64), body, True)
    assert float(same) == pytest.approx(0.0, abs=1e-9)
    assert 0 < float(opposite) <= opt.w_bone3d * nb * opt.sigma3d**2 + 1e-9


@pytest.mark.parametrize("ratio", [0.7, 1.6])
def test_focal_is_recovered_from_exact_landmarks(model, ratio):
    """A body close to a wide lens, or further from a long one, filling the frame: the focal that explains
    the 3D shape in 2D is the true one, within 5%."""
    diag = np.hypot(W, H)
    f = ratio * diag
    pose = _pose(35.0)
    pose[J["left_shoulder"]] = [0.0, 0.6, -0.8]
    pose[J["right_hip"]] = [-0.9, 0.0, 0.0]
    pose[J["right_knee"]] = [1.0, 0.0, 0.0]
    kp, world, _ = _observe(model, pose, np.array([0.0, 0.1, f * 1.6 / (0.9 * H)]), f)
    assert focal_from_landmarks(kp, world, W, H) == pytest.approx(f, rel=0.05)


def test_focal_falls_back_to_the_diagonal_without_enough_landmarks():
    kp = np.zeros((33, 3))
    kp[:5] = [100.0, 100.0, 0.9]
    assert focal_from_landmarks(kp, np.zeros((33, 3)), W, H) == pytest.approx(np.hypot(W, H))
