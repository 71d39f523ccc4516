"""Key a whole SMPL motion onto a BodyRig armature in one Action, in bulk.

Each of the 24·4 quaternion channels and the pelvis's 3 location channels is one f-curve filled with
`keyframe_points.add(T)` + `foreach_set("co", …)` (and the interpolation the same way): no keyframe_insert loop.
One key per source frame, and the scene's frame rate is set to the source's (29.97 → 30/1.001), so time is kept
exactly instead of skipping or repeating frames.
"""

from __future__ import annotations

from fractions import Fraction

import bpy
import numpy as np

from ..inference.body.skeleton import NUM_JOINTS, SMPL_JOINT_NAMES
from ..inference.errors import BadInputError
from ..inference.rotations import axis_angle_to_quaternion, make_quaternions_continuous

from . import blender_compat
from .rig import character_of

_INTERPOLATION = {"CONSTANT": 0, "LINEAR": 1, "BEZIER": 2}  # Keyframe.interpolation enum values


def scene_fps(fps: float) -> tuple[int, float]:
    """(render.fps, render.fps_base) with fps / fps_base == `fps`: 25 → (25, 1), 29.97 → (30, 1.001).

    NTSC rates (k·1000/1001) get base 1.001; other rates a rational approximation p/q (q ≤ 100).
    """
    fps = float(fps)
    if not np.isfinite(fps) or fps <= 0:
        raise BadInputError(f"frame rate must be a positive number, got {fps}")
    if abs(fps - round(fps)) < 1e-6 and round(fps) >= 1:
        return int(round(fps)), 1.0
    ntsc = round(fps * 1.001)
    if ntsc >= 1 and abs(ntsc / 1.001 - fps) < 5e-3:
        return int(ntsc), 1.001
    r = Fraction(fps).limit_denominator(100)
    return max(1, r.numerator), float(r.denominator)


def set_scene_timing(scene, fps: float, start_frame: int, num_frames: int) -> None:
    scene.render.fps, scene.render.fps_base = scene_fps(fps)
    scene.frame_start = int(start_frame)
    scene.frame_end = int(start_frame) + max(int(num_frames), 1) - 1


def _fill(fcurve, frames, values, interp: int) -> None:
    """Bulk keys: frames [T] and values [T] (float32) into an empty f-curve."""
    n = len(frames)
    kp = fcurve.keyframe_points
    kp.add(n)
    co = np.empty(2 * n, dtype=np.float32)
    co[0::2], co[1::2] = frames, values
    kp.foreach_set("co", co)
    kp.foreach_set("interpolation", np.full(n, interp, dtype=np.int32))
    fcurve.update()  # sorts keys and computes Bézier handles


def animate(character_or_armature, pose, transl=None, fps: float = 30.0, interpolation: str = "LINEAR",
            start_frame: int = 1, action_name: str | None = None):
    """Key pose [T,24,3] axis-angle and transl [T,3] (metres) at `fps` onto the armature → the new Action.

    Frame t of the motion lands on scene frame start_frame + t; the scene's fps and frame range are set.
    """
    arm = character_of(character_or_armature).armature
    pose = np.asarray(pose, dtype=np.float64)
    if pose.ndim == 2 and pose.shape[1] == NUM_JOINTS * 3:
        pose = pose.reshape(len(pose), NUM_JOINTS, 3)
    if pose.ndim != 3 or pose.shape[1:] != (NUM_JOINTS, 3) or len(pose) == 0:
        raise BadInputError(f"a motion must be [T,24,3] axis-angle with T ≥ 1, got {pose.shape}")
    t = len(pose)
    transl = np.zeros((t, 3)) if transl is None else np.asarray(transl, dtype=np.float64).reshape(-1, 3)
    if len(transl) != t:
        raise BadInputError(f"the motion has {t} poses but {len(transl)} translations")
    interp = _INTERPOLATION.get(str(interpolation).upper())
    if interp is None:
        raise BadInputError(f"interpolation must be one of {sorted(_INTERPOLATION)}, got {interpolation!r}")

    quats = make_quaternions_continuous(axis_angle_to_quaternion(pose), dim=0).astype(np.float32)  # [T,24,4]
    frames = (int(start_frame) + np.arange(t)).astype(np.float32)
    action = blender_compat.new_action(arm, action_name or f"{arm.name}Action")
    for j, name in enumerate(SMPL_JOINT_NAMES):
        pb = arm.pose.bones[name]
        pb.rotation_mode = "QUATERNION"
        if j:
            pb.location = (0.0, 0.0, 0.0)
        path = pb.path_from_id("rotation_quaternion")
        for i in range(4):
            _fill(blender_compat.fcurves_new(action, arm, path, i, name), frames, quats[:, j, i], interp)
        if j == 0:
            loc = pb.path_from_id("location")
            for i in range(3):
                _fill(blender_compat.fcurves_new(action, arm, loc, i, name), frames,
                      transl[:, i].astype(np.float32), interp)
    set_scene_timing(bpy.context.scene, fps, start_frame, t)
    return action
