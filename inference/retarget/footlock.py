"""Foot locking: keep the source's planted feet planted on the target, by a two-bone IK pass on the legs.

contacts() finds planted frames on the source (slow and near the floor); lock_goals() holds the target's ankle
at one place per planted stretch, easing the correction in and out over a few frames; two_bone_ik() turns the thigh and shin
(world rotations) so the ankle reaches its goal with the knee kept in its bend plane. The foot's own world
rotation is left alone, so the sole keeps the source's orientation. Shapes: T frames, positions [T,3] metres.
"""

from __future__ import annotations

import numpy as np

from ..rotations import axis_angle_to_matrix, rotation_between


def contacts(pos, fps: float, speed: float = 0.15, height: float = 0.04, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """Planted frames [T] bool: the point pos [T,3] moves slower than `speed` (m/s, central differences) and is
    within `height` (m) of its lowest height in the clip."""
    pos = np.asarray(pos, float)
    up = np.asarray(up, float) / np.linalg.norm(up)
    if len(pos) < 2:
        return np.zeros(len(pos), dtype=bool)
    vel = np.gradient(pos, axis=0) * float(fps)
    h = pos @ up
    return (np.linalg.norm(vel, axis=1) < speed) & (h < h.min() + height)


def _runs(mask):
    """(start, end) index pairs (end exclusive) of the True runs of mask [T]."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(m[1:] != m[:-1])
    return list(zip(edges[0::2], edges[1::2]))


def lock_goals(pos, planted, blend: int = 3):
    """Goals [T,3] and weights [T] for an ankle's trajectory pos [T,3]: each planted run is held at the run's
    mean position (weight 1). In the `blend` frames either side the foot keeps moving as it does and only the
    run's correction (anchor minus the position at the run's first or last frame) eases in and out, so a foot
    swinging into or out of a plant is not dragged toward it."""
    pos = np.asarray(pos, float)
    t = len(pos)
    goal, weight = pos.copy(), np.zeros(t)
    for s, e in _runs(planted):
        anchor = pos[s:e].mean(0)
        goal[s:e], weight[s:e] = anchor, 1.0
        for i in range(max(0, s - blend), s):
            w = 1.0 - (s - i) / (blend + 1)
            goal[i], weight[i] = pos[i] + w * (anchor - pos[s]), 1.0
        for i in range(e, min(t, e + blend)):
            w = 1.0 - (i - e + 1) / (blend + 1)
            goal[i], weight[i] = pos[i] + w * (anchor - pos[e - 1]), 1.0
    return goal, weight


def two_bone_ik(hip, knee, ankle, goal, weight=None, pole=None):
    """Swing rotations [T,3,3] for the thigh and the shin (to left-multiply their world rotations) that bring the
    ankle to `goal`; all inputs [T,3] world positions, weight [T] blends from no change (0) to the goal (1).

    The knee stays in the plane of hip, knee and the ankle's goal, on the side it was (the knee's offset from the
    hip→goal line; `pole` [T,3], a direction, where the leg is straight). Unreachable goals are approached along
    the hip→goal line with the leg almost straight.
    """
    hip, knee, ankle, goal = (np.asarray(x, float) for x in (hip, knee, ankle, goal))
    if weight is not None:
        w = np.asarray(weight, float)[:, None]
        goal = ankle + w * (goal - ankle)
    a = np.linalg.norm(knee - hip, axis=1)
    b = np.linalg.norm(ankle - knee, axis=1)
    hg = goal - hip
    d = np.clip(np.linalg.norm(hg, axis=1), np.abs(a - b) + 1e-6, (a + b) * (1 - 1e-6))
    u = hg / np.maximum(np.linalg.norm(hg, axis=1, keepdims=True), 1e-12)
    side = (knee - hip) - u * ((knee - hip) * u).sum(1, keepdims=True)
    if pole is not None:
        pole = np.asarray(pole, float)
        fallback = pole - u * (pole * u).sum(1, keepdims=True)
        weak = np.linalg.norm(side, axis=1) < 1e-4 * np.maximum(a, 1e-9)
        side[weak] = fallback[weak]
    v = side / np.maximum(np.linalg.norm(side, axis=1, keepdims=True), 1e-12)
    cos_a = np.clip((a * a + d * d - b * b) / (2 * a * d), -1.0, 1.0)
    new_knee = hip + a[:, None] * (cos_a[:, None] * u + np.sqrt(1 - cos_a ** 2)[:, None] * v)
    new_ankle = hip + d[:, None] * u
    q_thigh = axis_angle_to_matrix(rotation_between(knee - hip, new_knee - hip))
    q_shin = axis_angle_to_matrix(rotation_between(ankle - knee, new_ankle - new_knee))
    return q_thigh, q_shin
