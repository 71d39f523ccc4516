"""The frames, axes and frame-rate rules of BodyRig, each written once (the rest imports them from here).

Frames (see inference/results.py for the BodyFit/MotionFit fields that use them):
- body / world frame: SMPL's, Y up, a person at rest faces +Z, metres.
- camera frame: OpenCV's, x right, y down, z forward, metres; world = CAMERA_TO_WORLD · camera = R_x(π).
- AMASS files: Z up (floor = the XY plane; `trans` and the root orientation `poses[:, :3]` in that frame);
  Y-up world = Z_UP_TO_Y_UP · AMASS, AMASS = Y_UP_TO_Z_UP · world (+90° about X). BodyRig's motion .npz (AMASS's
  keys) is written in this frame (inference.motion_io), as AMASS tools and the SMPL-X Blender add-on read it.
- `.smpl` files (Meshcapade's smplcodec): Y up like the world frame (their bodies live in glTF scenes, .mcs).
- Blender: Z up. The rig is built in the body frame and turned once, at object level, by BODY_TO_BLENDER_EULER
  (+90° about X), so body (x, y, z) is Blender (x, -z, y); the photo camera gets the same turn and looks along +Y.
  A Blender camera looks down its local -Z with +Y up; OpenCV's looks down +z with y down: the camera's own
  axes differ by OPENCV_TO_BLENDER_CAMERA (a flip of y and z), applied by `camera_to_blender` with the world turn.
Frame rates: floats everywhere (29.97 stays 29.97); `fps_rational` is the one rule for writing them as p/q.
The pinhole camera type is inference.camera.PinholeCamera.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

CAMERA_TO_WORLD = np.diag([1.0, -1.0, -1.0])  # R_x(π)
Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # R_x(-90°)
Y_UP_TO_Z_UP = Z_UP_TO_Y_UP.T  # R_x(+90°): the world's +Y (up) becomes AMASS's +Z
BODY_TO_BLENDER_EULER = (math.pi / 2, 0.0, 0.0)  # XYZ Euler, the object-level turn of rigs and photo cameras
BODY_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # R_x(+90°)
OPENCV_TO_BLENDER_CAMERA = np.diag([1.0, -1.0, -1.0])  # Blender camera axes → OpenCV camera axes (and back)
NTSC_RATES = (24, 30, 48, 60, 120, 240)  # n·1000/1001 rates that containers round (AVI stores 29.97)


def camera_to_blender(rotation, position):
    """A camera pose in the WORLD frame (rotation [...,3,3] camera-to-world with OpenCV camera axes, position
    [...,3] metres) → the Blender camera object's (rotation matrices [...,3,3], locations [...,3]) in Blender's
    frame (Z up), for a rig turned by BODY_TO_BLENDER at the origin."""
    r = np.asarray(rotation, dtype=np.float64)
    p = np.asarray(position, dtype=np.float64)
    return BODY_TO_BLENDER @ r @ OPENCV_TO_BLENDER_CAMERA, p @ BODY_TO_BLENDER.T


def snap_fps(fps: float) -> float:
    """Containers round NTSC rates; snap those to the exact n·1000/1001 (other rates unchanged)."""
    for n in NTSC_RATES:
        ntsc = n * 1000 / 1001
        if abs(fps - ntsc) < 0.005:
            return ntsc
    return fps


def fps_rational(fps: float) -> Fraction:
    """A frame rate as p/q: whole rates n/1, NTSC rates (k·1000/1001 within 5e-3) exactly 1000k/1001, other
    rates the nearest fraction with q ≤ 100. Non-positive or non-finite rates raise BadInputError."""
    from .errors import BadInputError

    fps = float(fps)
    if not np.isfinite(fps) or fps <= 0:
        raise BadInputError(f"frame rate must be a positive number, got {fps}")
    if abs(fps - round(fps)) < 1e-6 and round(fps) >= 1:
        return Fraction(int(round(fps)))
    k = round(fps * 1.001)
    if k >= 1 and abs(k / 1.001 - fps) < 5e-3:
        return Fraction(1000 * k, 1001)
    r = Fraction(fps).limit_denominator(100)
    return r if r > 0 else Fraction(1, 100)
