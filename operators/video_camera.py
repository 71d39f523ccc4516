"""The video's camera in Blender: a camera object keyed per frame from a motion's camera path, with the clip as
its background, made the scene camera, so the character sits on the footage when played through it.

The camera's pose is turned into Blender's frame by inference.conventions.camera_to_blender (the rig's world
turn and the fixed flip from OpenCV camera axes to Blender's); lens, principal point and render resolution come
from the intrinsics as for a photo (photo_scene.add_photo_camera). Keys are written in bulk (animate.fill_keys).
Scene frame start_frame + t shows motion frame t and, behind it, the clip's frame start_frame_of_clip + t
(the motion's metadata["start_frame"]). With a motion fitted on every K-th frame (--stride K > 1) the clip still
plays frame by frame, K times slower than the motion: the background then matches only at the first frame.
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


def add_video_camera(collection, path, start_frame: int = 1, clip_start: int = 0, name: str = "VideoCamera"):
    """A camera object following `path` (inference.camera.CameraPath: rotation [T,3,3], position [T,3] in the
    WORLD frame, intrinsics, video) from scene frame `start_frame`, with the video (when its file exists) as the
    background from the clip's frame `clip_start` on. Made the scene camera. Returns the object."""
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
        set_background_clip(obj, path.video, start_frame=start_frame, clip_start=clip_start)
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
