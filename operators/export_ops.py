"""File > Export: the selected BodyRig character to FBX, glTF binary, BVH (operators/export.py) or a motion .npz.

The .npz is our AMASS-style motion file (inference/motion_io): the armature's pose read back at every frame of
its action (or the current pose when it has none), with the shape every BodyRig character carries (operators/character_props.py).
"""

from __future__ import annotations

import os

import bpy
from bpy.props import EnumProperty, StringProperty
from bpy_extras.io_utils import ExportHelper

from .staging import report_failure

FORMAT_ITEMS = (
    ("AUTO", "From Extension", "Choose by the file name's extension"),
    ("FBX", "FBX", "Armature, skinned mesh and baked animation (game engines)"),
    ("GLB", "glTF Binary", "Armature, skinned mesh and animation (.glb)"),
    ("BVH", "BVH", "Skeleton and motion only"),
    ("NPZ", "Motion .npz", "AMASS-style SMPL pose, translation and shape per frame"),
)
EXTENSIONS = {"FBX": ".fbx", "GLB": ".glb", "BVH": ".bvh", "NPZ": ".npz"}


def format_of(path: str, fmt: str = "AUTO") -> str:
    """'FBX' | 'GLB' | 'BVH' | 'NPZ' from the choice or the path's extension; BadInputError otherwise."""
    if fmt != "AUTO":
        return fmt
    ext = os.path.splitext(path)[1].lower()
    for key, value in EXTENSIONS.items():
        if value == ext:
            return key
    from ..inference.errors import BadInputError

    raise BadInputError(f"cannot export to '{ext or path}': use .fbx, .glb, .bvh or .npz")


def motion_from_armature(arm, scene):
    """The armature's animation (or current pose) as a MotionFit in the world frame."""
    import numpy as np

    from ..inference.results import MotionFit

    from .character_props import read_betas, read_body_label
    from .pose import read_pose

    action = arm.animation_data.action if arm.animation_data else None
    if action is not None:
        start, end = (int(round(f)) for f in action.frame_range)
        frames = range(start, end + 1)
    else:
        frames = [None]
    current = scene.frame_current
    try:
        poses = [read_pose(arm, frame=f) for f in frames]
    finally:
        scene.frame_set(current)
    betas = read_betas(arm)
    fps = scene.render.fps / scene.render.fps_base
    return MotionFit(pose=np.stack([p for p, _ in poses]), transl=np.stack([t for _, t in poses]), betas=betas,
                     fps=fps, body_model=read_body_label(arm),
                     metadata={"source": f"Blender armature {arm.name}",
                               # the rig's rest pelvis (body frame): saving turns the motion to Z up exactly
                               "rest_pelvis": [float(v) for v in arm.data.bones["pelvis"].head_local]})


class BODYRIG_OT_export(bpy.types.Operator, ExportHelper):
    """Export the selected BodyRig character (FBX, glTF binary, BVH) or its motion (.npz)"""

    bl_idname = "bodyrig.export"
    bl_label = "BodyRig Character"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".fbx"
    check_extension = None  # the extension picks the format (AUTO); `check` sets it for an explicit choice
    filter_glob: StringProperty(default="*.fbx;*.glb;*.bvh;*.npz", options={"HIDDEN"})
    format: EnumProperty(name="Format", items=FORMAT_ITEMS, default="AUTO")

    def check(self, context):
        # Keep the file name's extension in step with an explicit format choice.
        if self.format == "AUTO" or not os.path.basename(self.filepath):
            return False
        path = bpy.path.ensure_ext(os.path.splitext(self.filepath)[0], EXTENSIONS[self.format])
        changed = path != self.filepath
        self.filepath = path
        return changed

    def execute(self, context):
        try:
            from ..inference.errors import BadInputError

            from .rig import character_of

            obj = context.active_object
            if obj is None:
                raise BadInputError("select a BodyRig character (its armature or mesh) to export")
            character = character_of(obj)
            path = bpy.path.abspath(self.filepath)
            fmt = format_of(path, self.format)
            if fmt == "NPZ":
                from ..inference.motion_io import save_motion

                save_motion(motion_from_armature(character.armature, context.scene), path)
            else:
                from .export import export_character

                export_character(character, path, fmt=fmt.lower())
        except Exception as exc:
            return report_failure(self, exc)
        self.report({"INFO"}, f"BodyRig: exported {path}")
        return {"FINISHED"}


CLASSES = (BODYRIG_OT_export,)
