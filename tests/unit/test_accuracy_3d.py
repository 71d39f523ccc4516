"""The 3D scores of bench/accuracy_3d.py (the rendered photo set's benchmark) on hand-built skeletons."""

import numpy as np
from scipy.spatial.transform import Rotation

from bench.accuracy_3d import SCORED, depth_ambiguous, errors_mm, mediapipe_scored, smpl_scored
from inference.body.skeleton import SMPL_JOINT_NAMES
from inference.keypoint_map import MEDIAPIPE_NAMES

RNG = np.random.default_rng(3)


def test_scored_joints_are_picked_by_name():
    smpl = np.array([[i, 0, 0] for i in range(24)], float)
    mp = np.array([[i, 0, 0] for i in range(33)], float)
    assert [SMPL_JOINT_NAMES[int(i)] for i in smpl_scored(smpl)[:, 0]] == list(SCORED)
    assert [MEDIAPIPE_NAMES[int(i)] for i in mediapipe_scored(mp)[:, 0]] == list(SCORED)


def test_errors_mm():
    gt = RNG.standard_normal((12, 3))
    shifted = gt + [0.3, -0.2, 1.0]
    e = errors_mm(shifted, gt)
    assert e["mpjpe"] < 1e-9 and e["pa"] < 1e-9 and e["pa_limbs"] < 1e-9  # the mid-hips are aligned
    turned = 1.5 * Rotation.from_rotvec([0, 0.4, 0]).apply(gt) + 2.0
    e = errors_mm(turned, gt)
    assert e["pa"] < 1e-6 and e["mpjpe"] > 50  # a similarity: only the unaligned score sees it
    off = gt.copy()
    off[SCORED.index("left_wrist")] += [0.0, 0.0, 0.12]  # one joint 120 mm off, mid-hips untouched
    assert abs(errors_mm(off, gt)["mpjpe"] - 120 / 12) < 1e-6
    hip = gt.copy()
    hip[SCORED.index("left_hip")] += [0.05, 0, 0]
    hip[SCORED.index("right_hip")] += [-0.05, 0, 0]  # wider hips, same middle: only hips and shoulders differ
    e = errors_mm(hip, gt)
    assert abs(e["mpjpe"] - 100 / 12) < 1e-6 and e["pa_limbs"] < e["pa"]


def test_depth_ambiguous():
    j = np.zeros((24, 3))
    j[:, 2] = 3.0  # everything 3 m in front of the camera, in a plane facing it
    idx = {n: i for i, n in enumerate(SMPL_JOINT_NAMES)}
    for k, n in enumerate(SMPL_JOINT_NAMES):
        j[k, :2] = [0.1 * (k % 5), 0.1 * k]  # all segments across the line of sight
    assert not depth_ambiguous({"joints": j})
    elbow = j[idx["left_elbow"]]
    j[idx["left_wrist"]] = elbow * 0.92 + [0.03, 0.0, 0.0]  # the forearm pointing at the camera (~10 deg off)
    assert depth_ambiguous({"joints": j})
    j[idx["left_wrist"]] = elbow + [0.0, 0.0, -0.25]  # along the optical axis, but 31 deg off its own ray
    assert not depth_ambiguous({"joints": j})
