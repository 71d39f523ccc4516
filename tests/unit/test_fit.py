"""The fitter on synthetic data with a known answer, its priors, the keypoint map and the analytic IK."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from inference.body import BodyModel, tiny_model
from inference.body.skeleton import JOINT_INDEX as J
from inference.fit import (ANGLE_LIMITS, FitOptions, KeypointJoints, angle_limit_bounds, angle_limit_penalty,
                           default_focal, fit_keypoints)
from inference.keypoint_map import COCO_NAMES, COCO_TO_MEDIAPIPE, MEDIAPIPE_NAMES, MP, KeypointMap

CAM = np.array([[900.0, 900.0, 320.0, 240.0]])  # fx fy cx cy for a 640x480 image


def _true_pose():
    """A natural pose (camera frame root): facing the camera, turned 20°, knees and elbows bent."""
    pose = np.zeros((24, 3))
    pose[0] = (Rotation.from_euler("y", 20, degrees=True) * Rotation.from_rotvec([np.pi, 0, 0])).as_rotvec()
    pose[J["left_hip"]] = [-0.6, 0.0, 0.1]
    pose[J["left_knee"]] = [0.9, 0.0, 0.0]
    pose[J["right_knee"]] = [0.3, 0.0, 0.0]
    pose[J["left_shoulder"]] = [0.0, 0.0, -1.1]
    pose[J["right_shoulder"]] = [0.0, 0.4, 1.0]
    pose[J["left_elbow"]] = [0.0, -1.2, 0.0]
    pose[J["right_elbow"]] = [0.0, 0.8, 0.0]
    pose[J["spine1"]] = [0.15, 0.0, 0.0]
    return pose


@pytest.fixture(scope="module")
def model():
    return BodyModel(tiny_model())


@pytest.fixture(scope="module")
def synthetic(model):
    """MediaPipe-format observations of the tiny body posed by `_true_pose` 3 m in front of the camera."""
    pose, transl = _true_pose()[None], np.array([[0.1, -0.2, 3.0]])
    betas = np.zeros((1, 10))
    betas[0, :2] = [0.5, -0.3]
    out = model(pose, betas, transl)
    joints = out.joints[0].double().numpy()
    kmap = KeypointMap(model.joint_names)
    kp = np.zeros((33, 3))
    world = np.zeros((33, 4))
    for j, row in zip(kmap.joint_index, kmap.mp_matrix):
        for m in np.flatnonzero(row):
            x, y, z = joints[j]
            kp[m] = [CAM[0, 0] * x / z + CAM[0, 2], CAM[0, 1] * y / z + CAM[0, 3], 0.95]
            world[m, :3] = joints[j]
    mid_hip = 0.5 * (world[MP["left_hip"], :3] + world[MP["right_hip"], :3])
    world[:, :3] -= mid_hip
    clean = kp.copy()
    rng = np.random.default_rng(1)
    kp[:, :2] += rng.normal(0, 1.5, (33, 2)) * (kp[:, 2:] > 0)
    world[:, :3] += rng.normal(0, 0.01, (33, 3))
    return dict(kp=kp, clean=clean, world=world, kmap=kmap, pose=pose, betas=betas, transl=transl)


def test_keypoint_map_covers_the_joints_it_claims(tiny_data):
    kmap = KeypointMap(tiny_data.joint_names)
    limbs = [f"{s}_{p}" for s in ("left", "right") for p in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")]
    assert set(limbs) <= set(kmap.names)
    assert "nose" in kmap.names  # the tiny body's one extra
    for name, j in zip(kmap.names, kmap.joint_index):
        assert tiny_data.joint_names[j] == name
    assert np.allclose(kmap.mp_matrix.sum(1), 1.0)
    for name, row in zip(kmap.names, kmap.mp_matrix):  # one side never matches the other side
        side = name.split("_")[0]
        if side in ("left", "right"):
            other = "right" if side == "left" else "left"
            assert all(not MEDIAPIPE_NAMES[m].startswith(other) for m in np.flatnonzero(row))
    assert [MEDIAPIPE_NAMES[m] for m in COCO_TO_MEDIAPIPE] == list(COCO_NAMES)
    coco = kmap.coco_joint_index()
    assert tiny_data.joint_names[coco[COCO_NAMES.index("left_knee")]] == "left_knee"
    assert coco[COCO_NAMES.index("left_eye")] == -1  # the tiny body has no eyes


def test_keypoint_joints_equal_the_full_forward(model):
    data = tiny_model(pose_correctives=True)
    m = BodyModel(data, dtype=torch.float64)
    kmap = KeypointMap(m.joint_names)
    rng = np.random.default_rng(0)
    pose = torch.as_tensor(rng.normal(0, 0.4, (3, 24, 3)))
    betas, transl = torch.as_tensor(rng.normal(0, 1, (3, 10))), torch.as_tensor(rng.normal(0, 1, (3, 3)))
    from inference.rotations import axis_angle_to_matrix

    got = KeypointJoints(m, kmap)(axis_angle_to_matrix(pose), betas, transl)
    want = m(pose, betas, transl).joints[:, kmap.joint_index]
    assert torch.allclose(got, want, atol=1e-10)


def test_turning_rootless_joints_equals_posing_with_the_root():
    """The fit's first stage turns joints posed once with an identity root (KeypointJoints.turned) instead of
    posing the whole skeleton each step: it must give the full forward's joints, extra vertices included."""
    from inference.rotations import axis_angle_to_matrix

    m = BodyModel(tiny_model(pose_correctives=True), dtype=torch.float64)
    kj = KeypointJoints(m, KeypointMap(m.joint_names))
    assert kj.num_extra > 0
    rng = np.random.default_rng(3)
    rots = axis_angle_to_matrix(torch.as_tensor(rng.normal(0, 0.6, (3, 24, 3))))
    betas, transl = torch.as_tensor(rng.normal(0, 1, (3, 10))), torch.as_tensor(rng.normal(0, 1, (3, 3)))
    eye = torch.eye(3, dtype=torch.float64).expand(3, 1, 3, 3)
    rootless = kj(torch.cat([eye, rots[:, 1:]], 1), betas, torch.zeros_like(transl))
    got = KeypointJoints.turned(rootless, kj.root_joint(betas), rots[:, 0], transl)
    assert torch.allclose(got, kj(rots, betas, transl), atol=1e-10)
    assert not torch.allclose(rootless + transl[:, None], kj(rots, betas, transl), atol=1e-3)  # the root matters


def test_angle_limit_prior_zero_inside_positive_outside():
    lo, hi = angle_limit_bounds()
    inside = torch.as_tensor(0.5 * (np.nan_to_num(lo, neginf=0) + np.nan_to_num(hi, posinf=0)))[None]
    assert angle_limit_penalty(inside).item() == 0.0
    bent = torch.zeros(1, 24, 3, dtype=torch.float64)
    bent[0, J["left_knee"], 0] = 1.5  # a knee bending the right way
    bent[0, J["left_elbow"], 1] = -1.5
    bent[0, J["right_elbow"], 1] = 1.5
    assert angle_limit_penalty(bent).item() == 0.0
    for joint, comp, value in (("left_knee", 0, -0.5), ("right_knee", 0, -0.5), ("left_elbow", 1, 0.6),
                               ("right_elbow", 1, -0.6), ("left_knee", 1, 1.0)):
        wrong = torch.zeros(1, 24, 3, dtype=torch.float64)
        wrong[0, J[joint], comp] = value
        assert angle_limit_penalty(wrong).item() > 0.01, (joint, comp)
    assert ANGLE_LIMITS["left_knee"][0][1] > 2.0  # knees may bend a long way, one way


def test_default_focal_is_a_53_degree_diagonal_fov():
    f = default_focal(640, 480)
    assert np.isclose(np.degrees(2 * np.arctan(np.hypot(640, 480) / 2 / f)), 53.13, atol=0.01)


def test_analytic_ik_recovers_limb_directions(model, synthetic):
    from inference.init_pose import pose_from_world_landmarks

    rest = model(np.zeros((1, 24, 3)), synthetic["betas"]).rest_joints[0].double().numpy()
    pose0 = pose_from_world_landmarks(synthetic["world"][None], rest)
    out = model(pose0, synthetic["betas"]).joints[0].double().numpy()
    truth = model(synthetic["pose"], synthetic["betas"]).joints[0].double().numpy()
    for a, b in (("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("right_elbow", "right_wrist"),
                 ("left_shoulder", "left_elbow")):
        d1, d2 = out[J[b]] - out[J[a]], truth[J[b]] - truth[J[a]]
        cos = d1 @ d2 / np.linalg.norm(d1) / np.linalg.norm(d2)
        assert cos > 0.97, (a, b, cos)


@pytest.mark.parametrize("use_world", [True, False])
def test_fit_recovers_projected_joints_and_respects_limits(model, synthetic, use_world):
    res = fit_keypoints(model, synthetic["kp"][None], CAM, world=synthetic["world"][None] if use_world else None)
    kmap = synthetic["kmap"]
    clean = kmap.targets_from_mediapipe(synthetic["clean"][None])[0, :, :2]
    err = np.linalg.norm(res.joints2d[0] - clean, axis=-1)
    # 1.5 px noise; without 3D directions a 2D-only fit keeps some depth ambiguity (a bent knee seen
    # from the front), which costs a little in 2D too
    limit = 3.0 if use_world else 5.0
    assert np.median(err) < limit and err.max() < 3 * limit, err
    lo, hi = angle_limit_bounds()
    slack = 0.05
    for name in ("left_knee", "right_knee", "left_elbow", "right_elbow"):
        j = J[name]
        assert np.all(res.pose[0, j] >= lo[j] - slack) and np.all(res.pose[0, j] <= hi[j] + slack), name
    if use_world:  # with 3D directions the bent knee is found bent, and the right way
        assert res.pose[0, J["left_knee"], 0] > 0.5


def test_fit_runs_on_one_torch_thread_and_restores_the_setting(model, synthetic):
    """The fit's tiny ops are faster on one thread (issue 15); the caller's setting must come back, also after
    an error inside the fit, and a nested small-work block must not restore it early."""
    from inference.device import small_work_threads

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen = []
        opts = FitOptions(steps_global=2, cold_steps_full=20)
        fit_keypoints(model, synthetic["kp"][None], CAM, options=opts,
                      progress=lambda done, total, stage: seen.append(torch.get_num_threads()))
        assert seen and set(seen) == {1}
        assert torch.get_num_threads() == 2

        def boom(done, total, stage):
            raise RuntimeError("stop")

        with pytest.raises(RuntimeError, match="stop"):
            fit_keypoints(model, synthetic["kp"][None], CAM, options=opts, progress=boom)
        assert torch.get_num_threads() == 2

        with small_work_threads(1):
            fit_keypoints(model, synthetic["kp"][None], CAM, options=FitOptions(steps_global=1, cold_steps_full=1))
            assert torch.get_num_threads() == 1  # the inner fit's exit left the outer block's setting alone
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
