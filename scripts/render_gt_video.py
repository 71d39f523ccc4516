"""Render a known motion of a body into short videos: ground truth for the video pipeline.

    .venv/bin/python scripts/render_gt_video.py [--body open|tiny|PATH] [--out tests/e2e/data] [--seconds 3]
        [--fps 30] [--width 360 --height 640] [--samples 4]

Writes OUT/gt_motion.npz (the motion, WORLD frame of inference.results: camera at the origin, Y up; keys pose
[T,24,3], transl [T,3], betas, fps, cam [4] = fx, fy, cx, cy) and two videos of it, OUT/gt_plain.mp4 (grey
background) and OUT/gt_textured.mp4 (a brick wall and a checker floor behind), rendered with Cycles on the CPU.

The camera stands 3 m in front of the person at chest height, level, looking at them; its focal length in
pixels is the image diagonal (inference.fit.default_focal), the default the pipeline assumes. The motion:
3 s standing in place (feet planted: the pelvis does not move) with waving arms, a twist of the spine, a head turn and
a knee lift of the right leg in the middle second, so that drift, jitter and limb accuracy can all be measured.

Moving camera (issue 16): `--camera pan_tilt,roll_dolly,walk_along` renders a person WALKING (a gait cycle with
the root moving forward and turning 90° over the clip, the carrying foot pinned to the floor) in a textured
room (noisy checker floor, brick walls, boxes) seen by a moving camera, one clip per camera:

    nice -n 10 .venv/bin/python scripts/render_gt_video.py --camera pan_tilt,roll_dolly,walk_along \
        --out /work/evalset/gtcam --seconds 3.0 --samples 4 --width 270 --height 480

- pan_tilt: a camera on one spot (hand tremor only) panning to follow the person and tilting between about -16°
  and 0° (pitch; roll ±2°);
- roll_dolly: the camera slides ~2.7 m along a path following the person 5-6 m away, rolling up to ±12°;
- walk_along: the camera walks ahead of the person (~3.4 m), orbiting with half their turn, with a walking bob, a
  hand shake and a slow tilt (pitch about -15..-3°).
(--crf N encodes H.264 instead of MPEG-4: the small committed clip of tests/e2e/test_video_moving.py.)
Each writes OUT/NAME.mp4, OUT/NAME_frame0.png and OUT/NAME.npz, the truth in the WORLD frame (Y up, floor y = 0,
SMPL body frame = world frame): pose [T,24,3], transl [T,3], betas, fps, body; camera_rotation [T,3,3]
(camera-to-world, columns = the OpenCV camera's x right, y down, z forward axes), camera_position [T,3] (metres),
intrinsics [6] = fx, fy, cx, cy, width, height (the focal length is the image diagonal, the pipeline's default);
contact [T,4] bool (per contact_joints: left/right ankle, left/right toe joint on the floor); floor_y = 0. The terms of
inference.camera's CameraPath (notes/contract_camera.md), so a motion's camera path compares directly.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import repo_package  # noqa: E402  (the repository as the package `bodyrig`)

repo_package.install()
import synthetic_scene  # noqa: E402  (scripts/: the scene pieces shared with render_photo_set.py)

CAMERA_DISTANCE = 3.0
SENSOR_MM = 36.0


def gt_motion(num_frames: int, fps: float) -> np.ndarray:
    """The known motion: pose [T,24,3] axis-angle (body frame = world frame; the pelvis stays put)."""
    from inference.body.skeleton import JOINT_INDEX as J

    t = np.arange(num_frames) / fps
    pose = np.zeros((num_frames, 24, 3))
    wave = np.sin(2 * np.pi * t / 1.5)
    lift = np.clip(np.sin(np.pi * (t - 1.0)), 0, None) * ((t > 1.0) & (t < 2.0))  # a bump in the middle second
    # Turning left and right from the spine, not the pelvis: turning the whole body about the pelvis would swing
    # the planted feet, and the truth would slide.
    pose[:, J["spine1"], 1] = 0.25 * np.sin(2 * np.pi * t / 3.0)
    pose[:, J["spine2"], 1] = 0.2 * np.sin(2 * np.pi * t / 3.0 + 0.5)
    pose[:, J["left_shoulder"], 2] = 0.9 + 0.5 * wave  # arms out and waving (z rotation lifts them)
    pose[:, J["right_shoulder"], 2] = -0.7 + 0.6 * np.sin(2 * np.pi * t / 2.0)
    pose[:, J["left_elbow"], 1] = -0.4 - 0.4 * (1 + wave)
    pose[:, J["right_elbow"], 1] = 0.6 + 0.3 * np.cos(2 * np.pi * t / 2.0)
    pose[:, J["head"], 1] = 0.4 * np.sin(2 * np.pi * t / 2.0)
    pose[:, J["right_hip"], 0] = -1.1 * lift  # thigh forward
    pose[:, J["right_knee"], 0] = 1.5 * lift  # shin back
    pose[:, J["left_knee"], 0] = 0.1 * lift
    return pose


# ------------------------------------------------------------------------------------ the walking person
# Sagittal joint angles of a normal walk (degrees) over one gait cycle, heel strike at phase 0, toe-off at 0.6
# (shapes after Winter's normative curves): hip flexion (+ = thigh forward), knee flexion (+ = shin back), ankle
# dorsiflexion (+ = toes up).
GAIT_KEYS = {
    "hip": [(0.0, 28), (0.1, 26), (0.3, 9), (0.5, -9), (0.6, -2), (0.75, 20), (0.87, 30)],
    "knee": [(0.0, 4), (0.12, 16), (0.3, 8), (0.42, 6), (0.6, 38), (0.72, 58), (0.85, 32), (0.95, 6)],
    "ankle": [(0.0, 0), (0.08, -5), (0.3, 3), (0.45, 6), (0.6, -14), (0.7, -8), (0.85, 0)],
}
STRIDE_SECONDS = 1.1  # one gait cycle (two steps): about 109 steps a minute
TURN_DEGREES = 90.0


def gait_angle(name: str, phase) -> np.ndarray:
    """The GAIT_KEYS curve `name` at phase [...] (cycles, any real) → radians, periodic cubic interpolation."""
    from scipy.interpolate import CubicSpline

    keys = GAIT_KEYS[name]
    x = np.array([k[0] for k in keys] + [1.0])
    y = np.radians([k[1] for k in keys] + [keys[0][1]])
    return CubicSpline(x, y, bc_type="periodic")(np.mod(phase, 1.0))


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def walk_pose(num_frames: int, fps: float, turn_degrees: float = TURN_DEGREES) -> tuple[np.ndarray, dict]:
    """The walk's joint angles → (pose [T,24,3] axis-angle with the root's heading, {"left"/"right": the side's
    gait phase [T] in [0, 1), heel strike at 0, toe-off at 0.6})."""
    from scipy.spatial.transform import Rotation

    from inference.body.skeleton import JOINT_INDEX as J

    t = np.arange(num_frames) / fps
    phase_r = t / STRIDE_SECONDS + 0.05
    phase = {"right": np.mod(phase_r, 1.0), "left": np.mod(phase_r + 0.5, 1.0)}
    pose = np.zeros((num_frames, 24, 3))
    for side, ph in phase.items():
        pose[:, J[f"{side}_hip"], 0] = -gait_angle("hip", ph)
        pose[:, J[f"{side}_knee"], 0] = gait_angle("knee", ph)
        pose[:, J[f"{side}_ankle"], 0] = -gait_angle("ankle", ph)
    swing = np.sin(2 * np.pi * phase_r)  # +1 when the right thigh is forward
    # The heading turns smoothly by turn_degrees (starting toward +X, ending toward +Z with the default), with
    # the pelvis rocking ±4° about the vertical and the chest turning against it; arms down and swinging
    # against the legs.
    heading = np.radians(90.0 - turn_degrees * _smoothstep((t - 0.5) / max(t[-1] - 1.0, 1e-6)))
    rock = np.radians(4.0) * swing
    pose[:, 0] = Rotation.from_euler("y", (heading + rock)[:, None]).as_rotvec()
    pose[:, J["spine2"], 1] = -0.6 * rock
    pose[:, J["spine3"], 1] = -0.6 * rock
    pose[:, J["spine1"], 0] = np.radians(4.0)  # a slight forward lean
    for side, down, arm in (("left", -1.25, -np.radians(18) * swing), ("right", 1.25, np.radians(18) * swing)):
        # arm < 0 about x = forward; the left arm goes forward with the right leg
        rot = Rotation.from_euler("x", arm[:, None]) * Rotation.from_euler("z", np.full((num_frames, 1), down))
        pose[:, J[f"{side}_shoulder"]] = rot.as_rotvec()
        pose[:, J[f"{side}_elbow"], 1] = (-0.35 if side == "left" else 0.35)
    return pose, phase


FOOT_CONTACT_JOINTS = ("left_ankle", "right_ankle", "left_foot", "right_foot")


def walk_motion(data, num_frames: int, fps: float, turn_degrees: float = TURN_DEGREES) -> dict:
    """The walking person in the world frame (Y up, floor y = 0) → {pose, transl, betas, contact [T,4] bool}.

    The foot carrying the body (the one whose heel struck last) is pinned to the floor: a point of it that rolls
    from the ankle (heel on the ground) to the toe joint (heel off) over the stance does not move horizontally, and
    the body pivots there when the heading turns. The lowest point of the mesh touches y = 0 in every frame; the
    path is centred on the origin. contact: per FOOT_CONTACT_JOINTS, the joint is on the ground (its foot carries
    the body and the joint is within 2 cm of its lowest height in the clip). Not kinematically exact: in double
    support the trailing foot (its toe-off to come) slides while the leading one is pinned.
    """
    import torch

    from inference.body.load import body_model
    from inference.body.skeleton import JOINT_INDEX as J

    pose, phase = walk_pose(num_frames, fps, turn_degrees)
    betas = np.zeros(min(10, data.num_betas))
    model = body_model(data, "cpu")
    with torch.no_grad():
        out = model.forward(torch.as_tensor(pose, dtype=model.dtype), torch.as_tensor(betas[None], dtype=model.dtype)
                            .expand(num_frames, -1), torch.zeros(num_frames, 3, dtype=model.dtype))
    joints = out.joints[:, :24].double().numpy()
    lowest = out.vertices[..., 1].min(1).values.double().numpy()
    carrying = np.where(phase["right"] < 0.5, "right", "left")
    transl = np.zeros((num_frames, 3))
    for i in range(1, num_frames):
        side = carrying[i]
        w = _smoothstep((phase[side][i] - 0.2) / 0.25)  # the same material point of the foot in both frames
        ankle, toe = joints[i - 1:i + 1, J[f"{side}_ankle"]], joints[i - 1:i + 1, J[f"{side}_foot"]]
        p = (1 - w) * ankle + w * toe
        transl[i] = transl[i - 1] + p[0] - p[1]
    transl[:, [0, 2]] -= (transl[:, [0, 2]].max(0) + transl[:, [0, 2]].min(0)) / 2
    transl[:, 1] = -lowest
    world = joints + transl[:, None]
    contact = np.zeros((num_frames, len(FOOT_CONTACT_JOINTS)), bool)
    for k, name in enumerate(FOOT_CONTACT_JOINTS):
        y = world[:, J[name], 1]
        contact[:, k] = (carrying == name.split("_")[0]) & (y < y.min() + 0.02)
    return {"pose": pose, "transl": transl, "betas": betas, "contact": contact}


# ------------------------------------------------------------------------------------ the moving cameras
MOVING_CAMERAS = ("pan_tilt", "roll_dolly", "walk_along")


def look_at(position, target) -> np.ndarray:
    """Camera-to-world rotation [3,3] (OpenCV axes as columns: x right, y down, z forward; world Y up) of a level
    camera at `position` looking at `target`."""
    z = np.asarray(target, float) - np.asarray(position, float)
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 1.0, 0.0])
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z], axis=1)


def _shake(t, seed: int, amplitude: float, freqs=(1.3, 2.9, 4.7)) -> np.ndarray:
    """Smooth hand shake: a sum of sines at a few frequencies with random phases → [T] (same seed, same shake)."""
    rng = np.random.default_rng(seed)
    out = np.zeros_like(t)
    for f in freqs:
        out += np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) / len(freqs) ** 0.5
    return amplitude * out


def camera_path(kind: str, root: np.ndarray, fps: float, heading: np.ndarray | None = None):
    """A moving camera following the person's root path [T,3] (world) → (rotation [T,3,3] camera-to-world,
    OpenCV axes; position [T,3]). Smooth, with a handheld shake; the person stays in a 360x640 portrait frame."""
    from scipy.ndimage import gaussian_filter1d
    from scipy.spatial.transform import Rotation

    n = len(root)
    t = np.arange(n) / fps
    aim = gaussian_filter1d(root, sigma=0.3 * fps, axis=0, mode="nearest")  # a camera operator's lag
    aim[:, 1] = 0.95
    yaw = pitch = roll = np.zeros(n)
    if kind == "pan_tilt":
        pos = np.array([0.4, 1.65, 5.2]) + np.stack([_shake(t, s, 0.004) for s in (1, 2, 3)], 1)
        pitch = np.radians(7.5) * np.sin(2 * np.pi * t / 3.5 + 0.6) - np.radians(1.0)  # over the aim's own
        yaw = np.radians(4.0) * np.sin(2 * np.pi * t / 2.3)
        roll = np.radians(1.0) * np.sin(2 * np.pi * t / 1.7)
    elif kind == "roll_dolly":
        s = _smoothstep(t / t[-1])[:, None]
        pos = (1 - s) * np.array([2.2, 1.35, 4.2]) + s * np.array([-1.2, 1.15, 4.6])
        pos = pos + 0.6 * (aim - aim[0]) * [1, 0, 1]
        roll = np.radians(12.0) * np.sin(2 * np.pi * t / 2.8)
        pitch = np.radians(2.0) * np.sin(2 * np.pi * t / 1.9)
    elif kind == "walk_along":
        if heading is None:
            raise ValueError("walk_along needs the person's heading")
        head = gaussian_filter1d(heading, sigma=0.3 * fps, mode="nearest")
        head = head[0] + 0.5 * (head - head[0]) + np.radians(35.0)  # ahead, to their left; half their turn
        pos = aim + 3.4 * np.stack([np.sin(head), np.zeros(n), np.cos(head)], 1)
        pitch = np.radians(5.0) * np.sin(2 * np.pi * t / 2.6)
        pos[:, 1] = 1.5 + 0.025 * np.sin(2 * np.pi * 2 * t / STRIDE_SECONDS)  # the operator's steps
        pos[:, 0] += 0.015 * np.sin(2 * np.pi * t / STRIDE_SECONDS)
    else:
        raise ValueError(f"unknown camera {kind!r}: one of {MOVING_CAMERAS}")
    shake = np.radians(0.6 if kind == "walk_along" else 0.3)
    yaw = yaw + _shake(t, 11, shake)
    pitch = pitch + _shake(t, 12, shake)
    roll = roll + _shake(t, 13, shake)
    base = np.stack([look_at(p, a) for p, a in zip(pos, aim)])
    # offsets in the camera's own axes: pan about its y (down), tilt about its x (right; + = up), roll about z
    extra = Rotation.from_euler("YXZ", np.stack([yaw, pitch, roll], 1)).as_matrix()
    return base @ extra, pos


def camera_angles(rotation) -> dict:
    """Pitch (+ = looking up) and roll of camera-to-world rotations [T,3,3] (world Y up), degrees [T] each."""
    fwd, right = rotation[:, :, 2], rotation[:, :, 0]
    pitch = np.degrees(np.arcsin(np.clip(fwd[:, 1], -1, 1)))
    roll = np.degrees(np.arcsin(np.clip(-right[:, 1], -1, 1)))
    return {"pitch": pitch, "roll": roll}


def _world_material(bpy, name, kind, colors, scale, coords="UV"):
    """A textured, partly self-lit material (visible whatever the light), its scale per metre (`coords`: "UV" on
    planes whose UVs are metres, "Object" on boxes): kind "floor" (a checker of noise and dark squares: corners
    everywhere, no two alike), "brick", "voronoi" or "magic"."""
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = nodes.get("Principled BSDF")
    vec = nodes.new("ShaderNodeTexCoord").outputs[coords]
    if kind == "floor":
        tex = nodes.new("ShaderNodeTexChecker")
        noise = nodes.new("ShaderNodeTexNoise")
        noise.inputs["Scale"].default_value = 1.4
        noise.inputs["Detail"].default_value = 6.0
        links.new(vec, noise.inputs["Vector"])
        links.new(noise.outputs["Color"], tex.inputs["Color1"])
        tex.inputs["Color2"].default_value = (0.08, 0.07, 0.06, 1.0)
    elif kind == "brick":
        tex = nodes.new("ShaderNodeTexBrick")
        tex.inputs["Color1"].default_value = colors[0]
        tex.inputs["Color2"].default_value = colors[1]
    elif kind == "voronoi":
        tex = nodes.new("ShaderNodeTexVoronoi")
    else:
        tex = nodes.new("ShaderNodeTexMagic")
    links.new(vec, tex.inputs["Vector"])
    tex.inputs["Scale"].default_value = scale
    links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    links.new(tex.outputs["Color"], bsdf.inputs["Emission Color"])
    bsdf.inputs["Emission Strength"].default_value = 0.15
    bsdf.inputs["Roughness"].default_value = 0.9
    return mat


def _room_plane(bpy, collection, name, corners, mat):
    """A quad (Blender corners) whose UVs are metres along its first and last edges (textures keep their size)."""
    obj = synthetic_scene.plane(collection, name, corners, mat)
    c = np.asarray(corners, float)
    e1, e2 = c[1] - c[0], c[3] - c[0]
    uv = obj.data.uv_layers[0].data
    for loop in obj.data.loops:
        d = c[loop.vertex_index] - c[0]
        uv[loop.index].uv = (float(d @ e1 / np.linalg.norm(e1)), float(d @ e2 / np.linalg.norm(e2)))
    return obj


def _box(bpy, collection, name, lo, hi, mat):
    """An axis-aligned box between world (Y up) corners lo and hi: world (x, y, z) is Blender (x, -z, y)."""
    (x0, y0, z0), (x1, y1, z1) = lo, hi
    return synthetic_scene.box(collection, name, (x0, -z1, y0), (x1, -z0, y1), mat)

def build_room(bpy, collection) -> None:
    """The textured world of the moving-camera clips: a 16 m room (floor y = 0, walls 4 m high), boxes and
    pillars near the walls, out of the person's path."""
    floor = _world_material(bpy, "Floor", "floor", None, 2.0)
    _room_plane(bpy, collection, "Floor", [(-8, -8, 0), (8, -8, 0), (8, 8, 0), (-8, 8, 0)], floor)
    bricks = [((0.55, 0.25, 0.2, 1), (0.35, 0.3, 0.25, 1)), ((0.3, 0.4, 0.55, 1), (0.6, 0.6, 0.5, 1)),
              ((0.5, 0.5, 0.3, 1), (0.25, 0.35, 0.25, 1)), ((0.6, 0.4, 0.45, 1), (0.4, 0.45, 0.5, 1))]
    walls = [((-8, 8, 0), (8, 8, 0), (8, 8, 4), (-8, 8, 4)), ((8, -8, 0), (8, 8, 0), (8, 8, 4), (8, -8, 4)),
             ((-8, -8, 0), (8, -8, 0), (8, -8, 4), (-8, -8, 4)), ((-8, -8, 0), (-8, 8, 0), (-8, 8, 4), (-8, -8, 4))]
    for i, (corners, cols) in enumerate(zip(walls, bricks)):
        mat = _world_material(bpy, f"Brick{i}", "brick", cols, 1.0 + 0.2 * i)
        _room_plane(bpy, collection, f"Wall{i}", corners, mat)
    props = [("voronoi", (-6.5, 0, -6.5), (-5.0, 1.2, -5.5), 2.0), ("magic", (4.0, 0, -7.5), (5.5, 2.2, -6.5), 0.8),
             ("voronoi", (6.5, 0, 2.0), (7.5, 3.0, 3.0), 3.0), ("magic", (-7.5, 0, 3.0), (-6.5, 1.6, 5.0), 1.0),
             ("voronoi", (-3.0, 0, -7.6), (-1.5, 0.8, -6.8), 4.0), ("magic", (2.0, 0, 7.0), (3.5, 1.4, 7.8), 0.7),
             ("voronoi", (-7.6, 0, -2.0), (-6.8, 2.5, -1.0), 2.5), ("magic", (6.8, 0, -3.5), (7.6, 1.0, -1.5), 1.2)]
    for i, (kind, lo, hi, scale) in enumerate(props):
        _box(bpy, collection, f"Box{i}", lo, hi, _world_material(bpy, f"Prop{i}", kind, None, scale, "Object"))


def key_camera(bpy, cam, rotation, position) -> None:
    """Key a Blender camera from camera-to-world rotations [T,3,3] (OpenCV axes, world Y up) and positions [T,3]
    on frames 1..T. A Blender camera looks down its local -Z with +Y up: its local axes are OpenCV's x, -y, -z."""
    from inference.conventions import BODY_TO_BLENDER
    from inference.rotations import matrix_to_quaternion

    rot_blender = BODY_TO_BLENDER @ rotation @ np.diag([1.0, -1.0, -1.0])
    quats = matrix_to_quaternion(rot_blender)
    cam.rotation_mode = "QUATERNION"
    for i, (q, p) in enumerate(zip(quats, position @ BODY_TO_BLENDER.T)):
        cam.rotation_quaternion = tuple(float(v) for v in q)
        cam.location = tuple(float(v) for v in p)
        cam.keyframe_insert("rotation_quaternion", frame=i + 1)
        cam.keyframe_insert("location", frame=i + 1)


def render_frames(bpy, scene, n, out_mp4: Path, fps: float, size, crf: int | None = None) -> None:
    """Render frames 1..n of the scene into an mp4 (and the first frame as NAME_frame0.png beside it): MPEG-4
    part 2 through OpenCV, or H.264 at constant rate factor `crf` through imageio-ffmpeg's ffmpeg (small files)."""
    import subprocess

    import cv2

    with tempfile.TemporaryDirectory() as tmp:
        scene.frame_start, scene.frame_end = 1, n
        scene.render.filepath = str(Path(tmp) / "f_")
        bpy.ops.render.render(animation=True)
        frames = sorted(Path(tmp).glob("f_*.png"))
        if crf is None:
            writer = cv2.VideoWriter(str(out_mp4), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
            for f in frames:
                writer.write(cv2.imread(str(f)))
            writer.release()
        else:
            import imageio_ffmpeg

            subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-framerate", f"{fps:g}",
                            "-i", str(Path(tmp) / "f_%04d.png"), "-c:v", "libx264", "-preset", "slow", "-crf",
                            str(int(crf)), "-pix_fmt", "yuv420p", str(out_mp4)], check=True)
        cv2.imwrite(str(out_mp4.with_name(out_mp4.stem + "_frame0.png")), cv2.imread(str(frames[0])))


def add_render_camera(bpy, scene, collection, w: int, h: int, samples: int):
    """The scene's camera (focal length in pixels = the image diagonal, inference.fit.default_focal), a key
    light and Cycles at w x h → (camera object, focal px). Both clips are rendered through it."""
    from inference.fit import default_focal
    from bodyrig.operators.render import add_key_light, setup_cycles

    focal = default_focal(w, h)
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    cam.data.sensor_fit = "HORIZONTAL"
    cam.data.sensor_width = SENSOR_MM
    cam.data.lens = SENSOR_MM * focal / w  # f_px = lens / sensor_width * width
    collection.objects.link(cam)
    scene.camera = cam
    add_key_light(collection)
    setup_cycles(scene, samples=samples, transparent=False)
    scene.render.resolution_x, scene.render.resolution_y = w, h
    scene.render.resolution_percentage = 100
    return cam, focal


def render_moving(args) -> int:
    """The walking person in the textured room, one clip + truth per camera in args.camera (comma list)."""
    import bpy
    from scipy.spatial.transform import Rotation

    from inference.body.load import load_body
    from bodyrig.operators.animate import animate
    from bodyrig.operators.rig import build_character

    kinds = [k.strip() for k in args.camera.split(",") if k.strip()]
    for k in kinds:
        if k not in MOVING_CAMERAS:
            raise SystemExit(f"--camera: unknown {k!r}; choose from {', '.join(MOVING_CAMERAS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n = int(round(args.seconds * args.fps))
    data = load_body(args.body)
    walk = walk_motion(data, n, args.fps, args.turn)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    char = build_character(data, betas=walk["betas"], name="GT")
    char.mesh.data.materials.append(synthetic_scene.skin_material())
    animate(char, walk["pose"], walk["transl"], args.fps)  # body frame = world frame: floor at Blender z = 0
    build_room(bpy, char.collection)
    w, h = args.width, args.height
    cam, focal = add_render_camera(bpy, scene, char.collection, w, h, args.samples)
    cam.data.clip_end = 100.0
    scene.render.use_persistent_data = True  # the room is synced once, not per frame

    from inference.body.kinematics import motion_joints
    from inference.body.load import body_model

    root = motion_joints(body_model(data, "cpu"), walk["pose"], walk["betas"], walk["transl"])[:, 0]
    rm = Rotation.from_rotvec(walk["pose"][:, 0]).as_matrix()
    heading = np.unwrap(np.arctan2(rm[:, 0, 2], rm[:, 2, 2]))  # where the body's +Z (its front) points
    for kind in kinds:
        rotation, position = camera_path(kind, root, args.fps, heading)
        cam.animation_data_clear()
        key_camera(bpy, cam, rotation, position)
        render_frames(bpy, scene, n, out / f"{kind}.mp4", args.fps, (w, h), args.crf)
        np.savez(out / f"{kind}.npz", pose=walk["pose"], transl=walk["transl"], betas=walk["betas"], fps=args.fps,
                 contact=walk["contact"], contact_joints=np.array(FOOT_CONTACT_JOINTS), camera_rotation=rotation,
                 camera_position=position, intrinsics=np.array([focal, focal, w / 2, h / 2, w, h], float),
                 floor_y=0.0, body=str(args.body), camera_kind=kind)
        print(out / f"{kind}.mp4")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--body", default="open", help="open, tiny or a path to an SMPL .pkl/.npz")
    ap.add_argument("--out", default=str(REPO / "tests" / "e2e" / "data"))
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--width", type=int, default=360)
    ap.add_argument("--height", type=int, default=640)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--only", choices=("plain", "textured"), default=None)
    ap.add_argument("--camera", default=None,
                    help=f"moving cameras, comma-separated ({', '.join(MOVING_CAMERAS)}): the walking person instead")
    ap.add_argument("--turn", type=float, default=TURN_DEGREES, help="the walk's turn over the clip, degrees")
    ap.add_argument("--crf", type=int, default=None,
                    help="moving cameras: encode H.264 at this rate factor (e.g. 28: small files) instead of MPEG-4")
    args = ap.parse_args(argv)
    if args.camera:
        return render_moving(args)

    import bpy

    from inference.body.load import load_body
    from bodyrig.operators.animate import animate
    from bodyrig.operators.rig import build_character

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n = int(round(args.seconds * args.fps))
    pose = gt_motion(n, args.fps)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    data = load_body(args.body)
    betas = np.zeros(min(10, data.num_betas))
    char = build_character(data, betas=betas, name="GT")
    char.mesh.data.materials.append(synthetic_scene.skin_material())
    feet = -float(data.v_template[:, 1].min())  # the rest pelvis is the body origin; feet on z = 0
    char.armature.location = (0.0, 0.0, feet)
    animate(char, pose, np.zeros((n, 3)), args.fps)

    w, h = args.width, args.height
    cam, focal = add_render_camera(bpy, scene, char.collection, w, h, args.samples)
    cam_z = 1.1
    cam.location = (0.0, -CAMERA_DISTANCE, cam_z)
    cam.rotation_euler = (math.pi / 2, 0.0, 0.0)  # level, looking along +Y

    # WORLD frame (camera at the origin, Y up, Z toward the viewer) = body frame shifted: a body point p lands
    # in Blender at M p + L (M = +90 deg about X, L the armature location); world = M^T (blender - C).
    loc, c = np.array([0.0, 0.0, feet]), np.array(cam.location)
    offset = np.array([loc[0] - c[0], loc[2] - c[2], -(loc[1] - c[1])])
    transl = np.zeros((n, 3)) + offset
    np.savez(out / "gt_motion.npz", pose=pose, transl=transl, betas=betas, fps=args.fps,
             cam=np.array([focal, focal, w / 2, h / 2]), floor_y=-cam_z, body=str(args.body))

    variants = {"plain": None, "textured": None}
    if args.only:
        variants = {args.only: None}
    for name in variants:
        extra = []
        if name == "textured":
            brick = synthetic_scene.textured_material("Brick", "brick")
            checker = synthetic_scene.textured_material("Checker", "checker")
            extra.append(synthetic_scene.plane(char.collection, "Wall",
                                               [(-4, 2, 0), (4, 2, 0), (4, 2, 4), (-4, 2, 4)], brick))
            extra.append(synthetic_scene.plane(char.collection, "Floor",
                                               [(-4, -4, 0), (4, -4, 0), (4, 2, 0), (-4, 2, 0)], checker))
        render_frames(bpy, scene, n, out / f"gt_{name}.mp4", args.fps, (w, h))
        for obj in extra:
            bpy.data.objects.remove(obj)
        print(out / f"gt_{name}.mp4")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] if "--" not in sys.argv else sys.argv[sys.argv.index("--") + 1:]))
