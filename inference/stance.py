"""Which foot carries the body, judged from the body's own pose (not from its place in the world).

A video's world path slides by the depth's noise (centimetres a frame), so feet judged still in the world
are found at chance. The pose alone says it better: in a step the planted foot moves backwards relative to
the pelvis (at the body's walking speed) while the other one swings forwards, faster.
"""

from __future__ import annotations

import numpy as np

SIDES = (0, 1, 0, 1)  # world_frame.FOOT_JOINTS: left ankle, right ankle, left foot, right foot
MARGIN = 0.6  # m/s: the planted foot moves back relative to the pelvis at least this much faster than the other
# (on the rendered walks 0.45-0.7 bring the skate below the old pipeline's on all five clips, 0.8 not on the
# dolly; a larger margin finds fewer, surer contacts and leaves the root nearer the image's path)
MIN_RUN_S = 0.1  # s: a shorter stance is noise
SMOOTH_S = 0.03  # s: the Gaussian's sigma over the feet before their speeds are taken


def stance_contacts(rel_feet: np.ndarray, forward: np.ndarray, fps: float) -> np.ndarray:
    """rel_feet [T,F,3]: foot joints minus the pelvis, world axes (y up); forward [T,2]: the body's horizontal
    heading (x, z) per frame → contact [T,F] bool: the joints of the foot that carries the body."""
    from .temporal import gaussian_smooth

    rel = gaussian_smooth(np.asarray(rel_feet, dtype=np.float64)[..., [0, 2]], max(0.5, SMOOTH_S * fps))
    t = len(rel)
    if t < 3:
        return np.zeros(rel.shape[:2], bool)
    fwd = np.asarray(forward, dtype=np.float64)
    fwd = fwd / np.maximum(np.linalg.norm(fwd, axis=1, keepdims=True), 1e-9)
    v = (np.gradient(rel, axis=0) * fps * fwd[:, None]).sum(-1)  # [T,F] forward speed relative to the pelvis
    sides = np.array(SIDES)
    side_v = np.stack([v[:, sides == s].mean(axis=1) for s in (0, 1)], axis=1)  # [T,2]
    back = (side_v < side_v[:, ::-1] - MARGIN) & (side_v < 0)
    back = np.stack([keep_runs(back[:, s], max(1, round(MIN_RUN_S * fps))) for s in (0, 1)], axis=1)
    return back[:, sides]


def keep_runs(on: np.ndarray, min_len: int) -> np.ndarray:
    """on [T] bool → the same with runs shorter than min_len frames dropped."""
    on = np.asarray(on, bool)
    out = on.copy()
    edges = np.flatnonzero(np.diff(np.r_[0, on.astype(int), 0]))
    for a, b in zip(edges[::2], edges[1::2]):
        if b - a < min_len:
            out[a:b] = False
    return out

