"""Put one SMPL pose on a BodyRig armature and read it back (see rig.py for why this is exact).

pose [24,3] is SMPL's axis-angle per joint (relative to the parent; joint 0 = global orientation, body frame);
transl [3] is SMPL's translation in metres (vertices = LBS(pose) + transl), stored as the pelvis bone's location.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..inference.body.skeleton import NUM_JOINTS, SMPL_JOINT_NAMES
from ..inference.errors import BadInputError
from ..inference.rotations import axis_angle_to_quaternion, quaternion_to_axis_angle

from .rig import character_of

ROOT = SMPL_JOINT_NAMES[0]


def _armature(character_or_armature):
    return character_of(character_or_armature).armature


def _check(pose, transl):
    pose = np.asarray(pose, dtype=np.float64)
    if pose.shape == (NUM_JOINTS * 3,):
        pose = pose.reshape(NUM_JOINTS, 3)
    if pose.shape != (NUM_JOINTS, 3):
        raise BadInputError(f"a pose must be [24,3] axis-angle, got {pose.shape}")
    transl = np.zeros(3) if transl is None else np.asarray(transl, dtype=np.float64).reshape(3)
    return pose, transl


def set_pose(character_or_armature, pose, transl=None, frame=None) -> None:
    """Pose the armature: pose [24,3] axis-angle, transl [3] metres. With `frame`, also key it at that frame."""
    arm = _armature(character_or_armature)
    pose, transl = _check(pose, transl)
    quats = axis_angle_to_quaternion(pose)
    for j, name in enumerate(SMPL_JOINT_NAMES):
        pb = arm.pose.bones[name]
        pb.rotation_mode = "QUATERNION"
        pb.rotation_quaternion = quats[j]
        pb.location = transl if j == 0 else (0.0, 0.0, 0.0)
        pb.scale = (1.0, 1.0, 1.0)
        if frame is not None:
            pb.keyframe_insert("rotation_quaternion", frame=frame, group=name)
            if j == 0:
                pb.keyframe_insert("location", frame=frame, group=name)
    arm.update_tag()


def read_pose(character_or_armature, frame=None):
    """The pose on the armature (at `frame` when given) → (pose [24,3] axis-angle, transl [3]), float64.

    Read from each pose bone's local matrix, so any rotation mode (an artist's Euler edits) reads back right.
    """
    arm = _armature(character_or_armature)
    if frame is not None:
        bpy.context.scene.frame_set(int(frame), subframe=float(frame) - int(frame))
    quats = np.empty((NUM_JOINTS, 4))
    for j, name in enumerate(SMPL_JOINT_NAMES):
        quats[j] = arm.pose.bones[name].matrix_basis.to_quaternion()
    transl = np.array(arm.pose.bones[ROOT].matrix_basis.translation, dtype=np.float64)
    return quaternion_to_axis_angle(quats), transl
