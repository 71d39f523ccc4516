"""People cut by the picture's edge: the keypoints MediaPipe guessed outside the picture.

For a body part outside the frame MediaPipe still returns a 2D keypoint (coordinates outside [0, W) x [0, H)) and a
3D world landmark, often with a visibility of 0.4-0.9: both are guesses, not evidence. On the rendered cropped
people (bench/RESULTS.md, "Limbs outside the picture") the guessed ankles below the frame sat 40-240 px short of the
true ones (a shin that looks shorter: one the 2D term can only meet by turning it in depth), and the world
landmarks' shins were 25° off on average. The photo fit (inference.fit, FitOptions.unseen3d and w_hang) can
therefore give such keypoints no 2D pull and their bones less 3D weight, and let a limb bone that leaves through the
bottom edge hang: the camera's down was nearer the truth (17° on average) than MediaPipe's guess there. This is off
by default (FitOptions.outside_unseen): on four held-out render sets it raised the cropped people's error
(bench/RESULTS.md).
"""

from __future__ import annotations

import numpy as np


def outside_picture(keypoints2d, size) -> np.ndarray:
    """keypoints2d [..., N, ≥2] (x px, y px, ...), size [..., 2] or (W, H) → [..., N] bool: the keypoint lies outside
    [0, W) x [0, H) (or is not finite)."""
    kp = np.asarray(keypoints2d, dtype=np.float64)
    wh = np.asarray(size, dtype=np.float64)[..., None, :]
    x, y = kp[..., 0], kp[..., 1]
    with np.errstate(invalid="ignore"):
        inside = (x >= 0) & (y >= 0) & (x < wh[..., 0]) & (y < wh[..., 1])
    return ~inside


def unseen_targets(kmap, keypoints2d, image_size):
    """The keypoint-map targets (inference.keypoint_map.KeypointMap) of MediaPipe landmarks [B,33,≥2] in pictures
    of image_size [B,2] or (W, H) px → (unseen [B,M] bool: a landmark averaged into the target lies outside the
    picture; below [B,M] bool: unseen, and the target lies below the picture), or None when every landmark is
    inside (or image_size is None)."""
    if image_size is None:
        return None
    kp = np.asarray(keypoints2d, dtype=np.float64)
    size = np.broadcast_to(np.asarray(image_size, dtype=np.float64).reshape(-1, 2), (kp.shape[0], 2))
    out = outside_picture(kp, size)
    if not out.any():
        return None
    unseen = (out.astype(np.float64) @ (kmap.mp_matrix > 0).T) > 0
    below = unseen & (kmap.targets_from_mediapipe(kp)[..., 1] >= size[:, None, 1])
    return unseen, below
