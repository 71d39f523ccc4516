"""Motion metrics against independent references: scipy's Procrustes and hand-built motions."""

import numpy as np
from scipy.spatial import procrustes
from scipy.spatial.transform import Rotation

from inference.motion_metrics import drift, jitter, mpjpe, pa_mpjpe, procrustes_align, root_path_error

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
