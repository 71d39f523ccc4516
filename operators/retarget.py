"""Retarget a BodyRig motion onto another armature: read rests and poses, call inference.retarget, write keys.

Nothing here does retarget math (inference/retarget/). The target gets one new Action (slotted where Blender
has slots, operators/blender_compat.py) keyed in bulk per f-curve; its rest, object transform, mode,
constraints and other animation are left as they were (linked and library-override rigs included: no
transform_apply, no edit mode). Rotations are keyed in each pose bone's own rotation mode.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..inference.errors import BadInputError
from ..inference.retarget import bonemap
from ..inference.retarget.solve import Options, Rig, retarget
from ..inference.rotations import make_quaternions_continuous, matrix_to_quaternion

from . import blender_compat
from .animate import fill_keys


def armature(name: str, what: str):
    obj = bpy.data.objects.get(name) if name else None
    if obj is None or obj.type != "ARMATURE":
        raise BadInputError(f"the {what} '{name}' is not an armature object in this file")
    return obj


def _ordered_bones(arm):
    """The armature's bones, parents before children."""
    out = []

    def walk(bone):
        out.append(bone)
        for c in bone.children:
            walk(c)

    for bone in arm.data.bones:
        if bone.parent is None:
            walk(bone)
    return out


def rig_of(arm) -> Rig:
    """The armature's bones as arrays (rest, parents, world matrix, current basis)."""
    bones = _ordered_bones(arm)
    names = tuple(b.name for b in bones)
    index = {n: i for i, n in enumerate(names)}
    return Rig(names=names, parents=np.array([index[b.parent.name] if b.parent else -1 for b in bones]),
               rest=np.array([np.array(b.matrix_local) for b in bones]),
               matrix_world=np.array(arm.matrix_world),
               basis=np.array([np.array(arm.pose.bones[n].matrix_basis) for n in names]))


def bone_map_for(arm, preset: str = "AUTO", map_data: dict | None = None):
    """The armature's bone map: from `map_data` (a preset-file dict) when given, else AUTO or a preset id/path."""
    names = [b.name for b in arm.data.bones]
    if map_data is not None:
        return bonemap.bone_map_from_json(map_data, names)
    if preset.upper() == "AUTO":
        return bonemap.detect(names)
    return bonemap.resolve(preset.lower() if preset.lower() in bonemap.preset_ids() else preset, names)


def action_range(arm) -> tuple[int, int]:
    action = arm.animation_data.action if arm.animation_data else None
    if action is None:
        raise BadInputError(f"the source '{arm.name}' has no animation to retarget")
    start, end = action.frame_range
    return int(round(start)), int(round(end))


def sample_pose(arm, names, frames) -> np.ndarray:
    """pose_bone.matrix (armature space) of `names` at each frame → [T,N,4,4]; the scene's frame is restored."""
    scene = bpy.context.scene
    current = scene.frame_current
    out = np.empty((len(frames), len(names), 4, 4))
    pbs = [arm.pose.bones[n] for n in names]
    try:
        for t, f in enumerate(frames):
            scene.frame_set(int(f))
            for j, pb in enumerate(pbs):
                out[t, j] = np.array(pb.matrix)
    finally:
        scene.frame_set(current)
    return out


def _rotation_channels(pb, rots: np.ndarray):
    """(data path, [T,C] values) of rotations rots [T,3,3] in the pose bone's rotation mode, continuous in time."""
    from mathutils import Matrix

    mode = pb.rotation_mode
    if mode == "QUATERNION":
        return "rotation_quaternion", make_quaternions_continuous(matrix_to_quaternion(rots), dim=0)
    if mode == "AXIS_ANGLE":
        vals = []
        for r in rots:
            axis, angle = Matrix(r.tolist()).to_quaternion().to_axis_angle()
            vals.append((angle, *axis))
        return "rotation_axis_angle", np.array(vals)
    vals, prev = [], None
    for r in rots:
        e = Matrix(r.tolist()).to_euler(mode, prev) if prev is not None else Matrix(r.tolist()).to_euler(mode)
        vals.append(tuple(e))
        prev = e
    return "rotation_euler", np.array(vals)


def write_action(arm, result, frames, properties: dict, name: str):
    """One new Action on `arm` with the result's rotations (mapped bones) and root location, bulk-keyed."""
    rig_names = tuple(b.name for b in _ordered_bones(arm))
    action = blender_compat.new_action(arm, name)
    f = np.asarray(frames, dtype=np.float32)
    for b in result.rotated:
        pb = arm.pose.bones[rig_names[b]]
        path, values = _rotation_channels(pb, result.basis[:, b, :3, :3])
        full = pb.path_from_id(path)
        for i in range(values.shape[1]):
            fill_keys(blender_compat.fcurves_new(action, arm, full, i, pb.name), f, values[:, i].astype(np.float32))
    root = arm.pose.bones[rig_names[result.root]]
    loc = root.path_from_id("location")
    for i in range(3):
        fill_keys(blender_compat.fcurves_new(action, arm, loc, i, root.name), f,
                  result.basis[:, result.root, i, 3].astype(np.float32))
    for bone, props in properties.items():
        pb = arm.pose.bones.get(bone)
        for key, value in props.items():
            if pb is None or key not in pb.keys():
                continue
            pb[key] = value
            path = pb.path_from_id(f'["{key}"]')
            fill_keys(blender_compat.fcurves_new(action, arm, path, 0, pb.name), f[:1],
                      np.array([value], dtype=np.float32), 0)
    return action


def retarget_action(source, target, preset: str = "AUTO", map_data: dict | None = None, in_place: bool = False,
                    foot_lock: bool = False, frame_start: int | None = None, frame_end: int | None = None):
    """Key `source`'s motion (a BodyRig armature) onto `target` → (the new Action, the target's BoneMap).

    The frame range defaults to the source action's; keys land on the same frame numbers.
    """
    if source == target:
        raise BadInputError("the source and the target are the same armature")
    first, last = action_range(source)
    first = first if frame_start is None else int(frame_start)
    last = last if frame_end is None else int(frame_end)
    if last < first:
        raise BadInputError(f"the frame range {first}–{last} is empty")
    frames = np.arange(first, last + 1)
    bpy.context.view_layer.update()  # matrix_world of objects moved since the last evaluation
    src_map = bone_map_for(source, "bodyrig")
    tgt_map = bone_map_for(target, preset, map_data)
    src_rig, tgt_rig = rig_of(source), rig_of(target)
    scene = bpy.context.scene
    fps = scene.render.fps / scene.render.fps_base
    result = retarget(src_rig, src_map, sample_pose(source, src_rig.names, frames), tgt_rig, tgt_map,
                      Options(in_place=in_place, foot_lock=foot_lock, fps=fps))
    anim = target.animation_data
    previous = (anim.action, getattr(anim, "action_slot", None)) if anim is not None else None
    try:
        action = write_action(target, result, frames, tgt_map.properties, f"{target.name}_from_{source.name}")
    except Exception:
        if previous is not None:  # the new Action goes with the operator's rollback; give back the old one
            target.animation_data.action = previous[0]
            if previous[1] is not None:
                target.animation_data.action_slot = previous[1]
        raise
    return action, tgt_map
