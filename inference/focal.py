"""A photo's focal length when its EXIF has none: the one that best explains the 3D landmarks' shape in 2D.

MediaPipe's world landmarks give the body's 3D shape (metres, camera-aligned, origin between the hips) and its
2D keypoints where that shape lands in the picture. For a focal length f, the translation that best projects the
shape onto the keypoints is linear least squares (as inference.fit.initial_translation); what is left over
depends on f through perspective alone: near parts of the body look larger than far ones by (Z + tz) / tz,
which a wide lens close up makes strong and a long lens far away makes weak. The landmarks' scale does not
matter ((sX + tx) / (sZ + tz) = (X + tx/s) / (Z + tz/s)), only their shape.

The residual is searched over focal lengths from FOCAL_RANGE times the image diagonal (a 17-130 mm lens on
full frame), with a weak pull towards the diagonal (camera.default_focal, a 43 mm lens): a body seen from
far or flat to the camera carries little perspective, and then the default stands.
"""

from __future__ import annotations

import numpy as np

from .camera import default_focal

FOCAL_RANGE = (0.4, 3.0)  # x the image diagonal
GRID = 48  # focal lengths tried, evenly spaced in log f
PRIOR = 1e-3  # weight of (log(f / diagonal))² against the mean squared residual (person-size units)
MIN_VISIBILITY = 0.5
MIN_POINTS = 8


def projection_residual(points3d, uv, weights, f, cx, cy):
    """Mean weighted squared pixel residual of points3d [N,3] (any origin) best translated, then projected with
    focal f and principal point (cx, cy), against uv [N,2]; weights [N]. Also the translation [3]."""
    du, dv = uv[:, 0] - cx, uv[:, 1] - cy
    x, y, z = points3d.T
    w = np.sqrt(weights)
    n = len(x)
    a = np.concatenate([np.stack([np.full(n, f), np.zeros(n), -du], 1) * w[:, None],
                        np.stack([np.zeros(n), np.full(n, f), -dv], 1) * w[:, None]])
    rhs = np.concatenate([(du * z - f * x) * w, (dv * z - f * y) * w])
    t = np.linalg.lstsq(a, rhs, rcond=None)[0]
    p = points3d + t
    if (p[:, 2] <= 1e-3).any():
        return np.inf, t
    proj = p[:, :2] / p[:, 2:3] * f + [cx, cy]
    return float((weights * ((proj - uv) ** 2).sum(1)).sum() / weights.sum()), t


def focal_from_landmarks(keypoints2d, world, width: float, height: float) -> float:
    """keypoints2d [33,3] (x px, y px, visibility), world [33,≥3] (MediaPipe world landmarks) → the focal length
    in pixels (principal point at the image centre) whose projection of the 3D shape fits the 2D best, with a weak
    pull towards default_focal(width, height). The default when fewer than MIN_POINTS landmarks are seen."""
    kp = np.asarray(keypoints2d, dtype=np.float64)
    w3 = np.asarray(world, dtype=np.float64)[:, :3]
    f0 = default_focal(width, height)
    seen = kp[:, 2] >= MIN_VISIBILITY
    if seen.sum() < MIN_POINTS or not np.isfinite(kp[seen]).all() or not np.isfinite(w3[seen]).all():
        return f0
    uv, pts, wts = kp[seen, :2], w3[seen], kp[seen, 2]
    size = max(np.ptp(uv[:, 0]), np.ptp(uv[:, 1]), 1.0)
    cx, cy = width / 2.0, height / 2.0
    best, best_cost = f0, np.inf
    for f in f0 * np.exp(np.linspace(np.log(FOCAL_RANGE[0]), np.log(FOCAL_RANGE[1]), GRID)):
        r, _ = projection_residual(pts, uv, wts, f, cx, cy)
        cost = r / size**2 + PRIOR * np.log(f / f0) ** 2
        if cost < best_cost:
            best, best_cost = float(f), cost
    return best
