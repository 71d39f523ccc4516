"""Render the posed BodyRig character (Cycles, CPU, few samples) front and side to docs/rig_*.png.

    .venv/bin/python scripts/render_rig.py [--body tiny|open|PATH] [--out docs] [--size 320] [--samples 8]

Poses: rest (T-pose), a walking step, arms raised with a turned head, and a large twist with root translation;
each rendered from the front (Blender -Y, the body's face) and the left side (+X). A way to look at the rig.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import repo_package  # noqa: E402  (the repository as the package `bodyrig`)

repo_package.install()


def poses() -> dict:
    """name → (pose [24,3] axis-angle, transl [3]) in the body frame."""
    from inference.body.skeleton import JOINT_INDEX as J

    def p(**rot):
        out = np.zeros((24, 3))
        for name, aa in rot.items():
            out[J[name]] = aa
        return out

    return {
        "rest": (p(), np.zeros(3)),
        "walk": (p(left_hip=[-0.6, 0, 0], right_hip=[0.5, 0, 0], left_knee=[0.3, 0, 0], right_knee=[0.9, 0, 0],
                   left_shoulder=[0, 0, -1.2], right_shoulder=[0, 0, 1.2], left_elbow=[0, -0.3, 0],
                   right_elbow=[0, 0.3, 0], spine1=[0.1, 0, 0]), np.zeros(3)),
        "arms_up": (p(left_shoulder=[0, 0, 1.1], right_shoulder=[0, 0, -1.1], left_elbow=[0, 0, 0.6],
                      right_elbow=[0, 0, -0.6], neck=[0, 0.5, 0], head=[0.2, 0.3, 0]), np.zeros(3)),
        "twist": (p(pelvis=[0, 2.5, 0], spine2=[0, 0.6, 0.2], left_hip=[-1.4, 0, 0.3], left_knee=[1.6, 0, 0],
                    right_shoulder=[0, -1.5, 0.5], right_elbow=[0, -1.8, 0]), np.array([0.3, 0.2, 0.0])),
    }


def _look_at(cam_obj, target):
    from mathutils import Vector

    direction = Vector(target) - cam_obj.location
    cam_obj.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--body", default="tiny", help="tiny, open or a path to an SMPL .pkl/.npz")
    ap.add_argument("--out", default=str(REPO / "docs"))
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--samples", type=int, default=8)
    args = ap.parse_args(argv)

    import bpy

    from inference.body.load import load_body
    from bodyrig.operators.pose import set_pose
    from bodyrig.operators.render import add_key_light, render_png, setup_cycles
    from bodyrig.operators.rig import build_character

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    data = load_body(args.body)
    char = build_character(data, betas=np.zeros(min(10, data.num_betas)), name="BodyRig")
    mat = bpy.data.materials.new("Skin")
    mat.diffuse_color = (0.8, 0.6, 0.5, 1.0)
    if mat.node_tree is None and hasattr(mat, "use_nodes"):
        mat.use_nodes = True
    bsdf = mat.node_tree.nodes.get("Principled BSDF") if mat.node_tree else None
    if bsdf is not None:
        bsdf.inputs["Base Color"].default_value = (0.8, 0.6, 0.5, 1.0)
    char.mesh.data.materials.append(mat)

    floor = bpy.data.objects.new("Floor", bpy.data.meshes.new("Floor"))
    floor.data.from_pydata([(-3, -3, 0), (3, -3, 0), (3, 3, 0), (-3, 3, 0)], [], [(0, 1, 2, 3)])
    char.collection.objects.link(floor)
    add_key_light(char.collection)
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    cam.data.lens = 50
    char.collection.objects.link(cam)
    scene.camera = cam
    setup_cycles(scene, samples=args.samples, transparent=False)
    scene.render.resolution_x = scene.render.resolution_y = args.size
    scene.render.resolution_percentage = 100

    # The rest pelvis is at the body-frame origin; lift the rig so its feet stand on the floor (z = 0).
    feet = -float(data.v_template[:, 1].min())
    char.armature.location = (0.0, 0.0, feet)
    height = float(np.ptp(data.v_template[:, 1]))
    target = (0.0, 0.0, 0.5 * height)
    dist = 2.8 * height
    views = {"front": (0.0, -dist, 0.5 * height), "side": (dist, 0.0, 0.5 * height)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (pose, transl) in poses().items():
        set_pose(char, pose, transl)
        for view, loc in views.items():
            cam.location = loc
            _look_at(cam, target)
            written.append(render_png(out / f"rig_{data.name}_{name}_{view}.png", scene))
    print("\n".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] if "--" not in sys.argv else sys.argv[sys.argv.index("--") + 1:]))
