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
    args = ap.parse_args(argv)

    import bpy
    import cv2

    from inference.body.load import load_body
    from inference.fit import default_focal
    from bodyrig.operators.animate import animate
    from bodyrig.operators.render import add_key_light, setup_cycles
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
    focal = default_focal(w, h)
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    cam.data.sensor_fit = "HORIZONTAL"
    cam.data.sensor_width = SENSOR_MM
    cam.data.lens = SENSOR_MM * focal / w  # f_px = lens / sensor_width * width
    cam_z = 1.1
    cam.location = (0.0, -CAMERA_DISTANCE, cam_z)
    cam.rotation_euler = (math.pi / 2, 0.0, 0.0)  # level, looking along +Y
    char.collection.objects.link(cam)
    scene.camera = cam
    add_key_light(char.collection)
    setup_cycles(scene, samples=args.samples, transparent=False)
    scene.render.resolution_x, scene.render.resolution_y = w, h
    scene.render.resolution_percentage = 100

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
        with tempfile.TemporaryDirectory() as tmp:
            scene.frame_start, scene.frame_end = 1, n
            scene.render.filepath = str(Path(tmp) / "f_")
            bpy.ops.render.render(animation=True)
            frames = sorted(Path(tmp).glob("f_*.png"))
            writer = cv2.VideoWriter(str(out / f"gt_{name}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), args.fps, (w, h))
            for f in frames:
                writer.write(cv2.imread(str(f)))
            writer.release()
            cv2.imwrite(str(out / f"gt_{name}_frame0.png"), cv2.imread(str(frames[0])))
        for obj in extra:
            bpy.data.objects.remove(obj)
        print(out / f"gt_{name}.mp4")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] if "--" not in sys.argv else sys.argv[sys.argv.index("--") + 1:]))
