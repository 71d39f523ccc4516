"""Results as Blender scenes: a fitted photo (the character posed where the photo saw it, and the photo's camera)
and a motion (a character animated with it).

The rig's object-level turn (body Y-up → Blender Z-up, +90° about X) maps the world frame of
inference/results.py to Blender: the photo's camera sits at the origin looking along +Y, Z up, so the
camera view lines the character up with the photo.
"""

from __future__ import annotations

from pathlib import Path

import bpy

from ..inference.conventions import BODY_TO_BLENDER_EULER
from ..inference.errors import OutputWriteError
from ..inference.fileio import atomic_path


def add_photo_camera(collection, camera, name: str = "PhotoCamera"):
    """A Blender camera equal to `camera` (inference.camera.PinholeCamera); made active."""
    w, h = int(camera.width), int(camera.height)
    cam = bpy.data.cameras.new(name)
    cam.sensor_fit = "AUTO"  # the sensor width spans the larger image side
    cam.sensor_width = 36.0
    cam.lens = camera.fx * cam.sensor_width / max(w, h)
    # Blender's shift is in units of the larger side; a principal point right of centre moves the frame left.
    cam.shift_x = (w / 2 - camera.cx) / max(w, h)
    cam.shift_y = (camera.cy - h / 2) / max(w, h)
    cam.clip_start, cam.clip_end = 0.05, 200.0
    obj = bpy.data.objects.new(name, cam)
    obj.rotation_euler = BODY_TO_BLENDER_EULER  # the rig's turn: look along +Y with Z up
    collection.objects.link(obj)
    scene = bpy.context.scene
    scene.camera = obj
    scene.render.resolution_x, scene.render.resolution_y = w, h
    scene.render.resolution_percentage = 100
    return obj


def body_material(name: str = "BodyRigSkin"):
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    mat.diffuse_color = (0.62, 0.70, 0.85, 1.0)
    if hasattr(mat, "use_nodes") and not mat.use_nodes:
        mat.use_nodes = True
    bsdf = mat.node_tree.nodes.get("Principled BSDF") if mat.node_tree else None
    if bsdf is not None:
        bsdf.inputs["Base Color"].default_value = (0.62, 0.70, 0.85, 1.0)
        bsdf.inputs["Roughness"].default_value = 0.6
    return mat


def character_from_fit(fit, data, name: str = "Character", with_camera: bool = True):
    """Build the rig for `data` with the fit's shape, pose it in the world frame, add the photo camera.

    fit: inference.results.BodyFit; data: inference.body.BodyModelData. Returns the rig's Character; its
    armature carries the fit's shape and camera (character_props).
    """
    from .character_props import write_camera
    from .pose import set_pose
    from .rig import build_character

    character = build_character(data, betas=fit.betas, name=name)
    pose, transl = fit.world()
    set_pose(character, pose, transl)
    character.mesh.data.materials.append(body_material())
    write_camera(character.armature, fit.camera)
    if with_camera:
        add_photo_camera(character.collection, fit.camera, name=f"{name}_camera")
    return character


def character_from_motion(motion, data, name: str = "Character", shape_keys: bool = False,
                          with_camera: bool = True):
    """Build the rig for `data` with the motion's shape and key the motion on it; with the motion's camera path
    (when it has one and with_camera) as the animated scene camera, the video behind it (video_camera).

    motion: inference.results.MotionFit (world frame); data: inference.body.BodyModelData. Returns the Character.
    """
    from .animate import animate
    from .rig import build_character

    character = build_character(data, betas=motion.betas, name=name, shape_keys=shape_keys)
    animate(character, motion.pose, motion.transl, motion.fps)
    if with_camera:
        add_motion_camera(character.collection, motion, name=f"{name}_camera")
    return character


def add_motion_camera(collection, motion, name: str = "VideoCamera"):
    """The motion's camera path as the scene camera keyed from scene frame 1, its video as the background (scene
    frame 1 + t shows the clip's frame metadata["start_frame"] + metadata["stride"] · t) → the camera object, or
    None when the motion has none."""
    from .video_camera import add_video_camera

    path = getattr(motion, "camera", None)
    if path is None:
        return None
    meta = motion.metadata
    return add_video_camera(collection, path, start_frame=1, clip_start=int(meta.get("start_frame", 0)),
                            clip_step=max(int(meta.get("stride", 1)), 1), name=name)


def save_blend(path) -> Path:
    """Save the current file as `path` atomically (a copy: the session keeps its own file name).

    Blender's save reports a full disk as an error (or, depending on where it fails, not at all): the result
    is checked and the written file verified complete (header and final ENDB block) before it is renamed into
    place, so a failed save raises BodyRigError and leaves nothing under `path`.
    """
    path = Path(path)
    with atomic_path(path, suffix=".blend") as tmp:
        tmp.unlink()  # over an existing file (even the empty placeholder) Blender keeps a .blend1 backup
        try:
            result = bpy.ops.wm.save_as_mainfile(filepath=str(tmp), copy=True, check_existing=False)
        except RuntimeError as exc:  # the operator's error reports, e.g. "No space left on device"
            message = str(exc).strip().removeprefix("Error:").strip() or "unknown error"
            raise OutputWriteError(f"Blender could not save {path}: {message}") from None
        finally:
            for leftover in (tmp.with_name(tmp.name + "@"), tmp.with_name(tmp.name + "1")):
                leftover.unlink(missing_ok=True)  # Blender's own temporary / backup of a failed save
        if "FINISHED" not in result or not tmp.exists():
            raise OutputWriteError(f"Blender did not save {path} ({', '.join(sorted(result)) or 'no result'})")
    return path
