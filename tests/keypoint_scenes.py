"""MediaPipe-format observations of a known skeleton, for fit tests: what a perfect detector would report."""

from __future__ import annotations

import numpy as np

from inference.keypoint_map import MP, KeypointMap


def mediapipe_observation(joint_names, joints, f, size, visibility):
    """The skeleton's joints [J,3] (camera frame, metres) seen by a pinhole of focal f px, principal point at the
    centre of size (W, H) → (keypoints2d [33,3] x px, y px, `visibility`; world landmarks [33,3], hip-centred).
    Landmarks with no joint of the skeleton behind them stay zero."""
    kmap = KeypointMap(joint_names)
    kp, world = np.zeros((33, 3)), np.zeros((33, 3))
    for j, row in zip(kmap.joint_index, kmap.mp_matrix):
        for m in np.flatnonzero(row):
            x, y, z = joints[j]
            kp[m] = [f * x / z + size[0] / 2, f * y / z + size[1] / 2, visibility]
            world[m] = joints[j]
    world -= 0.5 * (world[MP["left_hip"]] + world[MP["right_hip"]])
    return kp, world
