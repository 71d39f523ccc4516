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


def _channels(arm, rig_names, bones, basis, root):
    """[(pose bone, data path, [T,C] values)] for rotations of `bones` (rig indices; basis [T,len(bones),4,4])
    in each bone's rotation mode, and the location of rig bone `root`."""
    out = []
    for col, b in enumerate(bones):
        pb = arm.pose.bones[rig_names[b]]
        path, values = _rotation_channels(pb, basis[:, col, :3, :3])
        out.append((pb, pb.path_from_id(path), values))
        if b == root:
            out.append((pb, pb.path_from_id("location"), basis[:, col, :3, 3]))
    return out


def write_action(arm, channels, frames, properties: dict, name: str):
    """One new Action on `arm` holding `channels` (see _channels) and `properties` keyed once, in bulk."""
    action = blender_compat.new_action(arm, name)
    f = np.asarray(frames, dtype=np.float32)
    for pb, path, values in channels:
        for i in range(values.shape[1]):
            fill_keys(blender_compat.fcurves_new(action, arm, path, i, pb.name), f, values[:, i].astype(np.float32))
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


def _rewrite(action, arm, channels, frames) -> None:
    co = np.empty(2 * len(frames), dtype=np.float32)
    co[0::2] = frames
    for _, path, values in channels:
        for i in range(values.shape[1]):
            fc = blender_compat.find_fcurve(action, arm, path, i)
            co[1::2] = values[:, i]
            fc.keyframe_points.foreach_set("co", co)
            fc.update()


def _follow_constraints(arm, action, result, frames, max_steps: int = 16, tol: float = 1e-4) -> int:
    """Make the keyed bones reach their wanted rotations under Blender's own evaluation (constraints on parent
    bones included), re-keying with transfer.refine_basis until the error is below `tol` radians.
    Returns the steps taken; BadInputError when the rig's constraints keep the bones from following."""
    from ..inference.retarget.transfer import refine_basis

    rig_names = tuple(b.name for b in _ordered_bones(arm))
    bones = list(result.rotated)
    names = [rig_names[b] for b in bones]
    root_col = bones.index(result.root) if result.root in bones else None
    want, basis = result.pose[:, bones], result.basis[:, bones]
    for step in range(max_steps):
        new, err = refine_basis(sample_pose(arm, names, frames), basis, want, root_col)
        if err < tol:
            return step
        basis = new
        _rewrite(action, arm, _channels(arm, rig_names, bones, basis, result.root), np.asarray(frames, np.float32))
    raise BadInputError(f"'{arm.name}' does not follow its keys (constraints on the mapped bones?): "
                        f"{np.degrees(err):.1f}° off after {max_steps} passes; map its FK controls instead")


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
    rig_names = tuple(b.name for b in _ordered_bones(target))
    bones = list(result.rotated)
    channels = _channels(target, rig_names, bones, result.basis[:, bones], result.root)
    try:
        action = write_action(target, channels, frames, tgt_map.properties, f"{target.name}_from_{source.name}")
        _follow_constraints(target, action, result, frames)
    except Exception:
        if previous is not None:  # the new Action goes with the operator's rollback; give back the old one
            target.animation_data.action = previous[0]
            if previous[1] is not None:
                target.animation_data.action_slot = previous[1]
        raise
    return action, tgt_map
