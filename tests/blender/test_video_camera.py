"""The video's camera in Blender (operators.video_camera): keyed from a camera path, it projects the animated rig's
joints onto the same pixels as the pinhole projection of the motion's joints at every frame checked, and the
clip is its background."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.body import tiny_model
from inference.camera import CameraPath, PinholeCamera
from inference.conventions import CAMERA_TO_WORLD
from inference.results import MotionFit

REPO = Path(__file__).resolve().parents[2]
CLIP = REPO / "tests" / "e2e" / "data" / "gt_plain.mp4"


def _rot(axis, angle):
    c, s = np.cos(angle), np.sin(angle)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def _camera_path(num_frames, intrinsics, video=None, moving=True):
    """A camera path by hand: pan (about world Y) and tilt (about the camera's x) growing over the clip, the
    camera walking sideways and rising, starting from the still camera at the origin."""
    t = np.linspace(0.0, 1.0, num_frames) if moving else np.zeros(num_frames)
    rot = np.stack([_rot(1, 0.4 * a) @ CAMERA_TO_WORLD @ _rot(0, -0.2 * a) @ _rot(2, 0.05 * a) for a in t])
    pos = np.stack([0.8 * t, 0.3 * t, 0.2 * t], axis=1)
    return CameraPath(rotation=rot, position=pos, intrinsics=intrinsics, video=video)


def _motion(data, num_frames=12):
    rng = np.random.default_rng(3)
    pose = rng.normal(scale=0.15, size=(num_frames, 24, 3))
    transl = np.stack([np.linspace(-0.3, 0.5, num_frames), np.full(num_frames, 0.1),
                       np.linspace(-4.0, -3.5, num_frames)], axis=1)
    return MotionFit(pose=pose, transl=transl, betas=np.zeros(data.num_betas), fps=30.0, body_model="tiny")


def _project_by_hand(path, points, frame):
    """The pinhole projection of world points, written out here: camera = R^T (p - c), then K."""
    k = path.intrinsics
    pc = (points - path.position[frame]) @ path.rotation[frame]
    return pc[:, :2] / pc[:, 2:] * [k.fx, k.fy] + [k.cx, k.cy]


@pytest.mark.parametrize("moving", [False, True])
def test_blender_camera_sees_the_joints_where_the_motion_camera_does(moving):
    import bpy
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    from inference.body import body_model
    from inference.body.kinematics import motion_joints
    from bodyrig.operators.photo_scene import character_from_motion
    from bodyrig.operators.video_camera import add_video_camera

    data = tiny_model()
    motion = _motion(data)
    k = PinholeCamera(fx=700.0, fy=700.0, cx=330.0, cy=235.0, width=640.0, height=480.0)
    path = _camera_path(motion.num_frames, k, moving=moving)
    character = character_from_motion(motion, data, name="Walker")
    cam = add_video_camera(character.collection, path, start_frame=1)
    scene = bpy.context.scene
    assert scene.camera == cam
    assert (scene.render.resolution_x, scene.render.resolution_y) == (640, 480)
    joints = motion_joints(body_model(data, "cpu"), motion.pose, motion.betas, motion.transl)
    arm = character.armature
    for t in (0, 5, 11):
        scene.frame_set(1 + t)
        blender_px = []
        for name in data.joint_names[:24]:
            head = arm.matrix_world @ arm.pose.bones[name].head
            ndc = world_to_camera_view(scene, cam, Vector(head))
            blender_px.append((ndc.x * 640.0, (1.0 - ndc.y) * 480.0))
        expected = _project_by_hand(path, joints[t], t)
        assert np.abs(np.array(blender_px) - expected).max() < 1.0, t


def test_the_clip_is_the_camera_background():
    import bpy

    from bodyrig.operators.video_camera import add_video_camera

    k = PinholeCamera(fx=734.3, fy=734.3, cx=180.0, cy=320.0, width=360.0, height=640.0)
    coll = bpy.data.collections.new("Scene")
    bpy.context.scene.collection.children.link(coll)
    cam = add_video_camera(coll, _camera_path(30, k, video=str(CLIP)), start_frame=1, clip_start=6)
    assert cam.data.show_background_images
    bg = cam.data.background_images[0]
    assert bg.source == "MOVIE_CLIP" and Path(bpy.path.abspath(bg.clip.filepath)) == CLIP
    assert tuple(bg.clip.size) == (360, 640) and bg.clip.frame_duration == 90
    assert bg.clip.frame_start == 1 - 6  # scene frame 1 shows the clip's 7th frame (index 6)


def test_a_missing_clip_gives_a_camera_without_background():
    import bpy

    from bodyrig.operators.video_camera import add_video_camera

    k = PinholeCamera(fx=500.0, fy=500.0, cx=160.0, cy=120.0, width=320.0, height=240.0)
    coll = bpy.data.collections.new("Scene")
    bpy.context.scene.collection.children.link(coll)
    cam = add_video_camera(coll, _camera_path(3, k, video="/nonexistent/clip.mp4"))
    assert len(cam.data.background_images) == 0 and bpy.context.scene.camera == cam


def _blender_pixels(scene, cam, arm, names, width, height):
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    out = []
    for name in names:
        ndc = world_to_camera_view(scene, cam, Vector(arm.matrix_world @ arm.pose.bones[name].head))
        out.append((ndc.x * width, (1.0 - ndc.y) * height))
    return np.array(out)


def test_importing_a_motion_with_a_camera_path_adds_the_video_camera(operators_on, tmp_path):
    """File > Import > Motion of a .npz that keeps a moving camera (saved Z up, read back): the scene camera
    projects the rig's joints onto CameraPath.project of the motion's joints, and the clip is behind it."""
    import bpy

    from inference.body import body_model
    from inference.body.kinematics import motion_joints
    from inference.motion_io import load_motion, save_motion

    data = tiny_model()
    k = PinholeCamera(fx=734.3, fy=734.3, cx=180.0, cy=320.0, width=360.0, height=640.0)
    motion = _motion(data)
    motion.camera = _camera_path(motion.num_frames, k, video=str(CLIP))
    motion.metadata["start_frame"] = 4
    path = save_motion(motion, tmp_path / "walk.npz")
    back = load_motion(path)
    assert back.camera is not None
    assert bpy.ops.bodyrig.import_motion(filepath=str(path)) == {"FINISHED"}
    scene = bpy.context.scene
    arm = bpy.context.view_layer.objects.active
    cam = scene.camera
    assert cam is not None and cam.type == "CAMERA" and cam.animation_data.action is not None
    joints = motion_joints(body_model(data, "cpu"), back.pose, back.betas, back.transl)
    expected = back.camera.project(joints)  # [T,24,2]
    for t in (0, 6, 11):
        scene.frame_set(scene.frame_start + t)
        got = _blender_pixels(scene, cam, arm, data.joint_names[:24], 360, 640)
        assert np.abs(got - expected[t]).max() < 1.0, t
    bg = cam.data.background_images[0]
    assert cam.data.show_background_images and Path(bpy.path.abspath(bg.clip.filepath)) == CLIP
    assert bg.clip.frame_start == scene.frame_start - 4  # the motion's first frame is the clip's 5th

    # onto the selected character: the camera comes too
    before = {o.name for o in bpy.data.objects if o.type == "CAMERA"}
    assert bpy.ops.bodyrig.import_motion(filepath=str(path), target="SELECTED") == {"FINISHED"}
    added = {o.name for o in bpy.data.objects if o.type == "CAMERA"} - before
    assert len(added) == 1 and scene.camera.name in added


def _shown_clip_frame(scene, cam):
    """The clip's frame (from 0) that `cam`'s background shows at the scene's current frame, by Blender's own
    rules for each source, read off the evaluated camera (the one the viewport draws), written out here:
    MOVIE_CLIP (movieclip.cc, user_frame_to_cache_frame): scene frame - clip.frame_start + clip.frame_offset;
    IMAGE (image.cc, BKE_image_user_frame_get, counted from 1):
    clamp(scene frame - frame_start + 1, 0, frame_duration) + frame_offset."""
    import bpy

    bg = cam.evaluated_get(bpy.context.evaluated_depsgraph_get()).data.background_images[0]
    f = scene.frame_current
    if bg.source == "MOVIE_CLIP":
        return f - bg.clip.frame_start + bg.clip.frame_offset
    user = bg.image_user
    assert not user.use_cyclic
    return min(max(f - user.frame_start + 1, 0), user.frame_duration) + user.frame_offset - 1


def test_a_strided_path_shows_every_kth_clip_frame():
    """clip_step 2 from the clip's frame 5: scene frame 1 + t shows clip frame 5 + 2t at every motion frame,
    whichever order the frames are visited in, and the last one holds after the end."""
    import bpy

    from bodyrig.operators.video_camera import add_video_camera

    k = PinholeCamera(fx=734.3, fy=734.3, cx=180.0, cy=320.0, width=360.0, height=640.0)
    coll = bpy.data.collections.new("Scene")
    bpy.context.scene.collection.children.link(coll)
    cam = add_video_camera(coll, _camera_path(12, k, video=str(CLIP)), start_frame=1, clip_start=5, clip_step=2)
    scene = bpy.context.scene
    bg = cam.data.background_images[0]
    assert cam.data.show_background_images and bg.source == "IMAGE"
    assert Path(bpy.path.abspath(bg.image.filepath)) == CLIP and tuple(bg.image.size) == (360, 640)
    for t in (11, 0, 1, 2, 7, 3, 10):
        scene.frame_set(1 + t)
        assert _shown_clip_frame(scene, cam) == 5 + 2 * t, t
        # Blender's own count agrees (BKE_image_user_frame_calc on the original's image user, counted from 1); it
        # runs on a frame change before the frame's keyed offset is written back, hence a second frame_set
        scene.frame_set(1 + t)
        assert bg.image_user.frame_current == 5 + 2 * t + 1, t
    scene.frame_set(20)
    assert _shown_clip_frame(scene, cam) == 5 + 2 * 11
    # the camera's own keys still drive its pose (the background keys live on its data, not the object)
    assert cam.animation_data.action is not None and cam.data.animation_data.action is not None


@pytest.mark.parametrize("stride", [1, 3])
def test_an_imported_strided_motion_keeps_the_footage_in_step(operators_on, tmp_path, stride):
    """File > Import > Motion of a motion fitted on every `stride`-th frame from the clip's frame 4 (as `video
    --stride` writes it): scene frame 1 + t shows clip frame 4 + stride · t; stride 1 keeps the MovieClip."""
    import bpy

    from inference.motion_io import save_motion

    data = tiny_model()
    k = PinholeCamera(fx=734.3, fy=734.3, cx=180.0, cy=320.0, width=360.0, height=640.0)
    motion = _motion(data)
    motion.fps = 30.0 / stride
    motion.camera = _camera_path(motion.num_frames, k, video=str(CLIP))
    motion.metadata.update(start_frame=4, stride=stride, video_fps=30.0)
    path = save_motion(motion, tmp_path / "walk.npz")
    assert bpy.ops.bodyrig.import_motion(filepath=str(path)) == {"FINISHED"}
    scene = bpy.context.scene
    cam = scene.camera
    assert scene.render.fps / scene.render.fps_base == pytest.approx(30.0 / stride)
    for t in (0, 1, 6, 11):
        scene.frame_set(scene.frame_start + t)
        assert _shown_clip_frame(scene, cam) == 4 + stride * t, t
    assert cam.data.background_images[0].source == ("MOVIE_CLIP" if stride == 1 else "IMAGE")
