"""Accuracy of a recovered motion against a known one: MPJPE, PA-MPJPE, root path error, jitter; and, for world
motions (Y up, floor y = 0), the gravity-kept alignment, world MPJPE, floor penetration / float and foot skate.

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


def accel_error(pred, gt, fps: float) -> float:
    """Mean norm of the difference of joint accelerations (m/s²), pred vs gt [T,J,3] (0 if T < 3): unlike
    jitter, smoothing away real motion counts as error."""
    if len(pred) < 3:
        return 0.0
    d = np.asarray(pred, dtype=np.float64) - np.asarray(gt, dtype=np.float64)
    return float(np.linalg.norm((d[2:] - 2 * d[1:-1] + d[:-2]) * fps**2, axis=-1).mean())


def drift(root) -> float:
    """Horizontal distance (m) between where the root starts and where it ends (x, z)."""
    return float(np.linalg.norm(root[-1, [0, 2]] - root[0, [0, 2]]))


# ------------------------------------------------------------------------------- world motions (Y up, floor 0)
# A video pipeline can know gravity and the floor (up = +Y, floor y = 0) but not which way the world's X and Z
# point nor where its origin stands on the floor: it is compared after a turn about Y and a shift along the floor.


def yaw_alignment(pred, gt) -> tuple[np.ndarray, np.ndarray]:
    """The turn about Y and the horizontal shift that best fit points pred [...,3] onto gt [...,3] (least
    squares; gravity and height kept) → (rotation [3,3], shift [3] with shift[1] = 0): pred @ rotation.T + shift."""
    p = np.asarray(pred, dtype=np.float64).reshape(-1, 3)[:, [0, 2]]
    g = np.asarray(gt, dtype=np.float64).reshape(-1, 3)[:, [0, 2]]
    mp_, mg = p.mean(0), g.mean(0)
    a, b = p - mp_, g - mg
    # 2D rotation by angle t maps (x, z) → (x cos t + z sin t, -x sin t + z cos t) (a turn about +Y)
    sin = (a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]).sum()
    cos = (a * b).sum()
    t = np.arctan2(-sin, cos)
    c, s = np.cos(t), np.sin(t)
    rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    moved = rot[np.ix_([0, 2], [0, 2])] @ mp_
    shift = np.array([mg[0] - moved[0], 0.0, mg[1] - moved[1]])
    return rot, shift


def world_mpjpe(pred, gt, align_frames: int | None = None) -> float:
    """Mean joint error [T,J,3] in the world frame after one yaw_alignment for the whole clip, fitted on every
    frame (None: WA-MPJPE) or only on the first `align_frames` (W-MPJPE: what drifts after the start counts)."""
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    k = len(pred) if align_frames is None else int(align_frames)
    rot, shift = yaw_alignment(pred[:k], gt[:k])
    return float(np.linalg.norm(pred @ rot.T + shift - gt, axis=-1).mean())


def world_root_error(pred_root, gt_root) -> float:
    """Mean distance between root paths [T,3] after the yaw_alignment that fits the paths best."""
    rot, shift = yaw_alignment(pred_root, gt_root)
    return float(np.linalg.norm(np.asarray(pred_root) @ rot.T + shift - gt_root, axis=-1).mean())


FLOOR_BAND = (-0.05, 0.08)  # m: "on the floor" (issue 16): the lowest point of the body within -5..+8 cm


def floor_offsets(lowest, band=FLOOR_BAND) -> dict:
    """The lowest point of the body per frame [T] (its height; the floor is y = 0) → {"penetration": mean depth
    below the floor over all frames (0 where above), "float": mean height above it (0 where below),
    "on_floor": the fraction of frames with the lowest point within `band`}, metres."""
    y = np.asarray(lowest, dtype=np.float64).ravel()
    return {"penetration": float(np.clip(-y, 0, None).mean()), "float": float(np.clip(y, 0, None).mean()),
            "on_floor": float(((y >= band[0]) & (y <= band[1])).mean())}


def foot_skate(feet, contact) -> float:
    """Foot skate: the mean horizontal (x, z) distance a foot joint moves from one frame to the next while it is
    in contact in both. feet [T,F,3], contact [T,F] bool (usually the truth's) → metres per frame (nan if no
    joint is in contact in two consecutive frames)."""
    feet = np.asarray(feet, dtype=np.float64)
    contact = np.asarray(contact, bool)
    step = np.linalg.norm(np.diff(feet[..., [0, 2]], axis=0), axis=-1)  # [T-1,F]
    both = contact[1:] & contact[:-1]
    return float(step[both].mean()) if both.any() else float("nan")
