"""The video's camera in Blender: a camera object keyed per frame from a motion's camera path, with the clip as
its background, made the scene camera, so the character sits on the footage when played through it.

The camera's pose is turned into Blender's frame by inference.conventions.camera_to_blender (the rig's world
turn and the fixed flip from OpenCV camera axes to Blender's); lens, principal point and render resolution come
from the intrinsics as for a photo (photo_scene.add_photo_camera). Keys are written in bulk (animate.fill_keys).
Scene frame start_frame + t shows motion frame t and, behind it, the clip's frame clip_start + K·t (the motion's
metadata["start_frame"] and ["stride"]). With K = 1 the background is a MovieClip played frame by frame. A motion
fitted on every K-th frame (--stride K > 1) is keyed one motion frame per scene frame at video_fps / K, which a
MovieClip cannot follow (it has no frame step), so there the background is the movie as an Image source instead,
its image user's frame_offset keyed (CONSTANT) on the camera data so that each scene frame shows clip frame
clip_start + K·t: Blender's viewport computes the frame from the evaluated image user when it draws
(BKE_image_user_frame_calc: frame = clamp(scene frame - frame_start + 1, 0, frame_duration) + frame_offset, counted
from 1).
"""

from __future__ import annotations

import os

import bpy
import numpy as np

from ..inference.conventions import camera_to_blender
from ..inference.rotations import make_quaternions_continuous, matrix_to_quaternion

from . import blender_compat
from .animate import fill_keys
from .photo_scene import add_photo_camera


def add_video_camera(collection, path, start_frame: int = 1, clip_start: int = 0, clip_step: int = 1,
                     name: str = "VideoCamera"):
    """A camera object following `path` (inference.camera.CameraPath: rotation [T,3,3], position [T,3] in the
    WORLD frame, intrinsics, video) from scene frame `start_frame`, with the video (when its file exists) as the
    background: scene frame start_frame + t shows the clip's frame clip_start + clip_step · t. Made the scene
    camera. Returns the object."""
    obj = add_photo_camera(collection, path.intrinsics, name=name)
    rot, loc = camera_to_blender(path.rotation, path.position)
    quats = make_quaternions_continuous(matrix_to_quaternion(rot), dim=0).astype(np.float32)  # [T,4] w,x,y,z
    frames = (int(start_frame) + np.arange(len(rot))).astype(np.float32)
    obj.rotation_mode = "QUATERNION"
    action = blender_compat.new_action(obj, f"{name}Action")
    for i in range(4):
        fill_keys(blender_compat.fcurves_new(action, obj, "rotation_quaternion", i, "Camera"), frames, quats[:, i])
    for i in range(3):
        fill_keys(blender_compat.fcurves_new(action, obj, "location", i, "Camera"), frames,
                  loc[:, i].astype(np.float32))
    bpy.context.scene.frame_set(bpy.context.scene.frame_current)  # evaluate the keys now
    if path.video and os.path.isfile(path.video):
        if int(clip_step) == 1:
            set_background_clip(obj, path.video, start_frame=start_frame, clip_start=clip_start)
        else:
            set_background_frames(obj, path.video, len(rot), start_frame=start_frame, clip_start=clip_start,
                                  clip_step=clip_step)
    return obj


def set_background_clip(camera_obj, video: str, start_frame: int = 1, clip_start: int = 0):
    """The video as the camera's background (a MovieClip), its frame `clip_start` (from 0) at scene frame
    `start_frame`. Returns the MovieClip."""
    clip = bpy.data.movieclips.load(os.path.abspath(video), check_existing=True)
    # the clip's first frame plays at clip.frame_start: put frame clip_start at start_frame
    clip.frame_start = int(start_frame) - int(clip_start)
    cam = camera_obj.data
    bg = cam.background_images.new()
    bg.source = "MOVIE_CLIP"
    bg.clip = clip
    bg.use_camera_clip = False
    bg.alpha = 1.0
    bg.frame_method = "FIT"
    cam.show_background_images = True
    return clip


def set_background_frames(camera_obj, video: str, num_frames: int, start_frame: int = 1, clip_start: int = 0,
                          clip_step: int = 1):
    """The video as the camera's background showing every `clip_step`-th frame: scene frame start_frame + t
    (t < num_frames; later frames hold the last) shows the clip's frame clip_start + clip_step · t (from 0).
    The movie is an Image source; its image user's frame_offset is keyed on the camera data. Returns the Image."""
    image = bpy.data.images.load(os.path.abspath(video), check_existing=True)
    image.source = "MOVIE"
    cam = camera_obj.data
    bg = cam.background_images.new()
    index = len(cam.background_images) - 1
    bg.source = "IMAGE"
    bg.image = image
    bg.alpha = 1.0
    bg.frame_method = "FIT"
    user = bg.image_user
    user.frame_start = int(start_frame)
    user.frame_duration = max(int(num_frames), 1)
    user.use_cyclic = False
    user.use_auto_refresh = True  # image editors showing it follow the scene frame too
    # shown (from 1) = (scene - frame_start + 1) + frame_offset; want clip_start + step·t + 1 at scene start + t
    t = np.arange(max(int(num_frames), 1))
    offsets = (int(clip_start) + (int(clip_step) - 1) * t).astype(np.float32)
    anim = cam.animation_data
    action = anim.action if anim is not None and anim.action is not None else \
        blender_compat.new_action(cam, f"{camera_obj.name}BackgroundAction")
    fcurve = blender_compat.fcurves_new(action, cam, f"background_images[{index}].image_user.frame_offset", 0,
                                        "Background")
    fill_keys(fcurve, (int(start_frame) + t).astype(np.float32), offsets, interp=0)  # CONSTANT: whole frames
    cam.show_background_images = True
    bpy.context.scene.frame_set(bpy.context.scene.frame_current)  # evaluate the keys now
    return image
