"""Accuracy of a recovered motion against a known one: MPJPE, PA-MPJPE, root path error, jitter.

All in metres (jitter in m/s²); joints [T,J,3] in the same world frame, one row per frame of both motions.
"""

from __future__ import annotations

import numpy as np


def mpjpe(pred, gt) -> float:
    """Mean per-joint position error after aligning the pelvises (joint 0) frame by frame."""
    p = pred - pred[:, :1]
    g = gt - gt[:, :1]
    return float(np.linalg.norm(p - g, axis=-1).mean())


def procrustes_align(pred, gt):
    """pred, gt [J,3] → pred moved by the similarity (rotation, scale, shift) that best fits it onto gt."""
    mp_, mg = pred.mean(0), gt.mean(0)
    p, g = pred - mp_, gt - mg
    u, s, vt = np.linalg.svd(p.T @ g)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.diag([1.0, 1.0, d])
    r = u @ fix @ vt  # p @ r ≈ g
    scale = (s * np.diag(fix)).sum() / (p**2).sum()
    return scale * p @ r + mg


def pa_mpjpe(pred, gt) -> float:
    """MPJPE after a per-frame similarity (Procrustes) alignment."""
    return float(np.mean([np.linalg.norm(procrustes_align(p, g) - g, axis=-1).mean() for p, g in zip(pred, gt)]))


def root_path_error(pred_root, gt_root) -> float:
    """Mean distance between the root paths [T,3] once their mean offsets are removed (where the camera
    stood relative to the floor is not known to the pipeline)."""
    p = pred_root - pred_root.mean(0)
    g = gt_root - gt_root.mean(0)
    return float(np.linalg.norm(p - g, axis=-1).mean())


def jitter(joints, fps: float) -> float:
    """Mean joint acceleration magnitude (m/s²) by second differences: [T,J,3] → float (0 if T < 3)."""
    if len(joints) < 3:
        return 0.0
    acc = (joints[2:] - 2 * joints[1:-1] + joints[:-2]) * fps**2
    return float(np.linalg.norm(acc, axis=-1).mean())


def drift(root) -> float:
    """Horizontal distance (m) between where the root starts and where it ends (x, z)."""
    return float(np.linalg.norm(root[-1, [0, 2]] - root[0, [0, 2]]))
