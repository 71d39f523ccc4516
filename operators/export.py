"""Export a BodyRig character (armature + skinned mesh + its animation) to FBX, glTF binary (.glb) or BVH.

`export_character(character_or_armature, path, fmt=None)`: the format comes from the extension unless given.
Every file is written under a temporary name beside the target and renamed only when the exporter reported
success and the bytes on disk are a complete file (inference/fileio.py: FBX footer, glb length, BVH frame
lines; fsynced), so a failed, interrupted or disk-full export never leaves a half-written file under the final
name; an exporter that fails, is missing or writes nothing raises BodyRigError (headless exports that silently
produce nothing are a known trap).

Axes and units, per format (the rig: body frame Y up, turned to Blender's Z up at object level, metres):
- FBX: Y up, -Z forward (FBX's, Maya's, Unity's and Unreal's usual convention), so the armature object comes out
  with no rotation in other tools. Units: scale 1, and the unit scale goes into the FBX header
  (FBX_SCALE_ALL): coordinates stay in metres and the file declares metres (UnitScaleFactor 100 cm), so 1 m is
  1 m in Blender, Unity and Unreal without any 100x object scale. No leaf bones; animation baked every frame
  with no key reduction. Shape keys are kept (modifiers other than the armature are not applied).
- glTF (.glb): glTF is Y up, metres by definition. Skin and every frame sampled, bones as they are; one clip,
  the armature's active action, under the action's name.
- BVH: written in the armature's own space, which is the body frame: Y up, metres, as BVH readers expect.
  BVH holds only the skeleton and its motion (no mesh); rotations are Euler XYZ in degrees with 6 decimals.

The frame range is the armature action's range; a character without animation exports its current pose.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import bpy

from ..inference.errors import BadInputError, BodyRigError

FORMATS = {".fbx": "fbx", ".glb": "glb", ".bvh": "bvh"}
_ADDONS = {"fbx": "io_scene_fbx", "glb": "io_scene_gltf2", "bvh": "io_anim_bvh"}


def export_format(path, fmt: str | None = None) -> str:
    """'fbx' | 'glb' | 'bvh' for `path` (by extension) or the explicit `fmt`."""
    name = (fmt or FORMATS.get(Path(path).suffix.lower(), "")).lower().lstrip(".")
    if name not in _ADDONS:
        raise BadInputError(f"cannot export '{Path(path).name}': use a .fbx, .glb or .bvh file name "
                            f"(or fmt='fbx'|'glb'|'bvh')")
    return name


def export_character(character_or_armature, path, fmt: str | None = None) -> Path:
    """Write the character's armature (+ mesh, except for BVH) and animation to `path`. Returns the path."""
    from ..inference.fileio import atomic_path

    from .rig import character_of

    fmt = export_format(path, fmt)
    character = character_of(character_or_armature)
    arm = character.armature
    objects = [arm] + ([] if fmt == "bvh" else [o for o in arm.children if o.type == "MESH"])
    _ensure_addon(fmt)
    path = Path(path)
    with atomic_path(path, suffix=f".{fmt}") as tmp, _export_context(arm, objects) as frames:
        try:
            result = _EXPORTERS[fmt](str(tmp), frames)
        except RuntimeError as e:  # operators report their errors (a Python exporter's traceback too) this way
            raise BodyRigError(f"the {fmt.upper()} exporter failed for '{path.name}': {_last_line(e)}") from e
        if "FINISHED" not in result or not tmp.exists() or tmp.stat().st_size == 0:
            raise BodyRigError(f"the {fmt.upper()} exporter wrote nothing for '{path.name}' ({result})")
    return path


def _last_line(exc) -> str:
    """An operator's error as one line: a Python exporter's report is a traceback followed by 'Location: ...';
    its last exception line says what happened (e.g. 'OSError: [Errno 28] No space left on device')."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(("Location:", "File ", "Traceback", "^", "~"))] or lines
    return lines[-1].removeprefix("Error:").strip() if lines else type(exc).__name__


def _ensure_addon(fmt: str) -> None:
    """Enable the exporter add-on that ships with Blender when it is not loaded (e.g. a bare bpy session)."""
    import addon_utils

    module = _ADDONS[fmt]
    if addon_utils.check(module)[1]:
        return
    try:
        mod = addon_utils.enable(module, default_set=True, handle_error=None)
    except Exception as e:  # noqa: BLE001 - any failure to load the add-on means: no exporter
        raise BodyRigError(f"Blender's {fmt.upper()} exporter ({module}) could not be enabled: {e}") from e
    if mod is None:
        raise BodyRigError(f"Blender's {fmt.upper()} exporter ({module}) is missing from this Blender")


@contextlib.contextmanager
def _export_context(arm, objects):
    """Object mode, exactly `objects` selected, `arm` active, the scene's range = the action's; all restored.

    Yields (first_frame, last_frame).
    """
    scene = bpy.context.scene
    view_layer = bpy.context.view_layer
    if bpy.context.mode != "OBJECT" and view_layer.objects.active is not None:
        bpy.ops.object.mode_set(mode="OBJECT")
    selected = [o for o in view_layer.objects if o.select_get()]
    active = view_layer.objects.active
    saved = scene.frame_start, scene.frame_end, scene.frame_current
    action = arm.animation_data.action if arm.animation_data else None
    if action is not None:
        first, last = (int(round(f)) for f in action.frame_range)
    else:
        first = last = scene.frame_current
    try:
        for o in selected:
            o.select_set(False)
        for o in objects:
            o.select_set(True)
        view_layer.objects.active = arm
        scene.frame_start, scene.frame_end = first, last
        yield first, last
    finally:
        scene.frame_start, scene.frame_end = saved[0], saved[1]
        scene.frame_set(saved[2])
        for o in objects:
            o.select_set(False)
        for o in selected:
            o.select_set(True)
        view_layer.objects.active = active


def _fbx(filepath: str, frames) -> set:
    return bpy.ops.export_scene.fbx(
        filepath=filepath, check_existing=False, use_selection=True, object_types={"ARMATURE", "MESH"},
        global_scale=1.0, apply_unit_scale=True, apply_scale_options="FBX_SCALE_ALL",
        axis_forward="-Z", axis_up="Y", use_space_transform=True, bake_space_transform=False,
        use_mesh_modifiers=False, mesh_smooth_type="FACE", add_leaf_bones=False,
        primary_bone_axis="Y", secondary_bone_axis="X", armature_nodetype="NULL", use_armature_deform_only=False,
        bake_anim=True, bake_anim_use_all_bones=True, bake_anim_use_nla_strips=False,
        bake_anim_use_all_actions=False, bake_anim_force_startend_keying=True, bake_anim_step=1.0,
        bake_anim_simplify_factor=0.0, path_mode="AUTO", embed_textures=False,
    )


def _glb(filepath: str, frames) -> set:
    # Only the armature's own (active) action: "ACTIONS" also wrote every other action in the file as a clip of
    # this armature (a retargeted rig got its source's action too). The clip keeps the action's name.
    arm = bpy.context.view_layer.objects.active
    action = arm.animation_data.action if arm is not None and arm.animation_data else None
    return bpy.ops.export_scene.gltf(
        filepath=filepath, check_existing=False, export_format="GLB", use_selection=True, export_yup=True,
        export_apply=False, export_skins=True, export_animations=True, export_animation_mode="ACTIVE_ACTIONS",
        export_force_sampling=True, export_frame_step=1, export_frame_range=True, export_def_bones=False,
        export_leaf_bone=False, export_optimize_animation_size=False, export_anim_single_armature=True,
        export_reset_pose_bones=True, export_rest_position_armature=True, export_morph=True,
        export_cameras=False, export_lights=False,
        export_nla_strips_merged_animation_name=action.name if action is not None else "Animation",
    )


def _bvh(filepath: str, frames) -> set:
    first, last = frames
    return bpy.ops.export_anim.bvh(filepath=filepath, check_existing=False, frame_start=first, frame_end=last,
                                   global_scale=1.0, rotate_mode="NATIVE", root_transform_only=False)


_EXPORTERS = {"fbx": _fbx, "glb": _glb, "bvh": _bvh}
