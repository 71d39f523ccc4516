"""Motion metrics against independent references: scipy's Procrustes and hand-built motions."""

import numpy as np
from scipy.spatial import procrustes
from scipy.spatial.transform import Rotation

from inference.motion_metrics import (accel_error, drift, floor_offsets, foot_skate, jitter, mpjpe, pa_mpjpe,
                                      procrustes_align, root_path_error, world_mpjpe, world_root_error, yaw_alignment)

RNG = np.random.default_rng(7)


def test_procrustes_matches_scipy():
    for _ in range(10):
        gt = RNG.standard_normal((24, 3))
        pred = 1.3 * Rotation.random(random_state=RNG).apply(gt) + RNG.standard_normal(3)
        pred += 0.05 * RNG.standard_normal(pred.shape)
        aligned = procrustes_align(pred, gt)
        # scipy standardises both sets (centred, unit Frobenius norm) and aligns the second onto the first;
        # its disparity is the squared residual in that standard frame.
        _, _, disparity = procrustes(gt, pred)
        g = gt - gt.mean(0)
        np.testing.assert_allclose(np.sum((aligned - gt) ** 2) / np.sum(g ** 2), disparity, rtol=1e-9)


def test_pa_mpjpe_is_zero_for_a_similar_copy_and_mpjpe_is_not():
    gt = RNG.standard_normal((5, 24, 3))
    r = Rotation.from_euler("y", 40, degrees=True)
    pred = np.stack([0.8 * r.apply(f) + [1, 2, 3] for f in gt])
    assert pa_mpjpe(pred, gt) < 1e-12
    assert mpjpe(pred, gt) > 0.1


def test_mpjpe_root_path_jitter_and_drift_by_hand():
    t = np.arange(30) / 30.0
    gt = np.zeros((30, 2, 3))
    gt[:, 1, 1] = 1.0  # a second joint 1 m above the root
    pred = gt.copy()
    pred[:, 1, 0] += 0.02  # 2 cm off in x, relative to the root
    assert np.isclose(mpjpe(pred, gt), 0.01)  # joint 0 exact, joint 1 off by 2 cm: mean 1 cm
    root = np.stack([0.5 * t, np.zeros(30), np.zeros(30)], -1)
    assert np.isclose(root_path_error(root + [3, 0, 0], root), 0.0)  # a constant offset does not count
    assert np.isclose(drift(root), 0.5 * t[-1])
    accel = np.zeros((30, 1, 3))
    accel[:, 0, 1] = 0.5 * 9.81 * t**2  # constant acceleration g
    assert np.isclose(jitter(accel, 30), 9.81)


def test_yaw_alignment_recovers_a_turn_and_shift_along_the_floor():
    gt = RNG.standard_normal((4, 24, 3))
    turn = Rotation.from_euler("y", 70, degrees=True)
    pred = turn.apply(gt.reshape(-1, 3)).reshape(gt.shape) + [1.5, 0.0, -2.0]  # the pipeline's own yaw + origin
    rot, shift = yaw_alignment(pred, gt)
    np.testing.assert_allclose(rot, turn.inv().as_matrix(), atol=1e-12)
    assert shift[1] == 0.0
    assert world_mpjpe(pred, gt) < 1e-12 and world_mpjpe(pred, gt, align_frames=1) < 1e-12
    assert world_root_error(pred[:, 0], gt[:, 0]) < 1e-12


def test_world_errors_keep_height_and_tilt():
    # 10 cm too high: no alignment removes it (the floor is claimed at y = 0)
    gt = RNG.standard_normal((3, 24, 3))
    assert np.isclose(world_mpjpe(gt + [0, 0.1, 0], gt), 0.1)
    # a point 1 m up, leaning 90° toward +X about Z, cannot be turned back about Y: error sqrt(2) m
    up = np.zeros((1, 2, 3))
    up[0, 1, 1] = 1.0
    lean = up.copy()
    lean[0, 1] = [1.0, 0.0, 0.0]
    # the truth's joints are both over (0, 0): the best shift puts the prediction's centroid there, each joint
    # 0.5 m away horizontally, and the tip stays 1 m too low: errors 0.5 and sqrt(0.5^2 + 1^2)
    expected = (0.5 + np.sqrt(0.25 + 1.0)) / 2
    assert np.isclose(world_mpjpe(lean, up), expected)


def test_w_mpjpe_counts_drift_after_the_aligned_start():
    t = np.arange(10)
    gt = np.zeros((10, 1, 3))
    gt[:, 0, 0] = 0.1 * t  # walks 10 cm a frame along +X
    pred = gt.copy()
    pred[:, 0, 2] = 0.01 * t  # and drifts 1 cm a frame sideways
    # aligned on the first frame only (one point: a pure shift, here none): error = the drift, 0..9 cm, mean 4.5
    assert np.isclose(world_mpjpe(pred, gt, align_frames=1), 0.045)
    assert world_mpjpe(pred, gt) < world_mpjpe(pred, gt, align_frames=1)  # the whole-clip fit turns it away


def test_floor_offsets_by_hand():
    lowest = np.array([-0.10, -0.02, 0.0, 0.05, 0.20])
    f = floor_offsets(lowest)
    assert np.isclose(f["penetration"], (0.10 + 0.02) / 5)
    assert np.isclose(f["float"], (0.05 + 0.20) / 5)
    assert np.isclose(f["on_floor"], 3 / 5)  # -0.02, 0, 0.05 within -5..+8 cm


def test_foot_skate_by_hand():
    feet = np.zeros((4, 2, 3))
    feet[:, 0, 0] = [0.0, 0.01, 0.03, 0.10]  # foot 0 slides 1, 2, 7 cm
    feet[:, 0, 1] = [0.0, 0.5, 0.0, 0.0]  # height changes do not count
    feet[:, 1, 2] = [0.0, 0.0, 0.04, 0.04]
    contact = np.array([[1, 1], [1, 1], [1, 0], [0, 0]], bool)
    # pairs in contact in both frames: foot 0 at 0→1 (1 cm), 1→2 (2 cm); foot 1 at 0→1 (0 cm)
    assert np.isclose(foot_skate(feet, contact), (0.01 + 0.02 + 0.0) / 3)
    assert np.isnan(foot_skate(feet, np.zeros((4, 2), bool)))


def test_accel_error_counts_smoothed_away_motion():
    t = np.arange(30) / 30.0
    gt = np.zeros((30, 1, 3))
    gt[:, 0, 1] = 0.5 * 9.81 * t**2  # accelerating at g
    still = np.zeros_like(gt)  # no jitter at all, but the motion is gone
    assert jitter(still, 30) == 0.0
    assert np.isclose(accel_error(still, gt, 30), 9.81)
    assert accel_error(gt + [1, 2, 3], gt, 30) < 1e-9  # an offset is no acceleration
