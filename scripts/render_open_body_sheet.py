"""Render a contact sheet of the open body (docs/open_body.png): 3 shapes at rest, then arms up, sitting, walking.

    .venv/bin/python scripts/render_open_body_sheet.py [--out docs/open_body.png] [--samples 16]

Vertices come from BodyModel.forward (SMPL's frame) and go into plain bpy meshes (no rig); each object is
turned Y-up → Z-up once, at object level, as the rig is. Cycles on the CPU (works headless).
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


def _pose(**joints) -> np.ndarray:
    """A [24,3] axis-angle pose from {joint: 3x3 matrix or axis-angle}."""
    from inference.body.skeleton import JOINT_INDEX
    from inference.rotations import matrix_to_axis_angle

    pose = np.zeros((24, 3))
    for name, value in joints.items():
        value = np.asarray(value, dtype=np.float64)
        pose[JOINT_INDEX[name]] = matrix_to_axis_angle(value) if value.shape == (3, 3) else value
    return pose


def _rx(a):
    from inference.rotations import axis_angle_to_matrix

    return axis_angle_to_matrix(np.array([a, 0.0, 0.0]))


def _rz(a):
    from inference.rotations import axis_angle_to_matrix

    return axis_angle_to_matrix(np.array([0.0, 0.0, a]))


def sheet_bodies():
    """[(label, betas [K] or None, pose [24,3])]: three shapes at rest, then three poses of the mean shape."""
    arms_down = {"left_shoulder": _rz(-1.25), "right_shoulder": _rz(1.25)}
    poses = {
        "arms up": _pose(left_shoulder=_rz(1.2), right_shoulder=_rz(-1.2), left_collar=_rz(0.2),
                         right_collar=_rz(-0.2)),
        "sitting": _pose(left_hip=_rx(-1.5), right_hip=_rx(-1.5), left_knee=_rx(1.5), right_knee=_rx(1.5),
                         **arms_down, left_elbow=np.array([0.0, 0.8, 0.0]), right_elbow=np.array([0.0, -0.8, 0.0])),
        "walking": _pose(left_hip=_rx(-0.45), right_hip=_rx(0.35), left_knee=_rx(0.15), right_knee=_rx(0.6),
                         left_ankle=_rx(0.1), right_ankle=_rx(-0.2),
                         left_shoulder=_rx(0.35) @ _rz(-1.25), right_shoulder=_rx(-0.35) @ _rz(1.25)),
    }
    shapes = [("mean shape", {}), ("beta0 = +2", {0: 2.0}), ("beta1 = -2, beta2 = +2", {1: -2.0, 2: 2.0})]
    out = [(label, b, np.zeros((24, 3))) for label, b in shapes]
    out += [(label, {}, pose) for label, pose in poses.items()]
    return out


def _mesh(name, verts, faces):
    import bpy

    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(verts))
    mesh.vertices.foreach_set("co", verts.astype(np.float32).ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.astype(np.int32).ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    mesh.polygons.foreach_set("loop_total", np.full(len(faces), 3, dtype=np.int32))
    mesh.polygons.foreach_set("use_smooth", np.ones(len(faces), dtype=bool))
    mesh.update()
    mesh.validate()
    return mesh


def build_scene(data, spacing: float = 2.0):
    """Link one mesh object per sheet entry into a fresh scene; returns the scene."""
    import bpy
    import math

    from inference.body import BodyModel
    from bodyrig.operators.render import add_key_light

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    body = BodyModel(data)
    entries = sheet_bodies()
    betas = np.zeros((len(entries), data.num_betas))
    for i, (_, b, _) in enumerate(entries):
        for k, value in b.items():
            betas[i, k] = value
    verts = body.forward(np.stack([p for _, _, p in entries]), betas=betas).vertices.numpy()
    mat = bpy.data.materials.new("OpenBodySkin")
    mat.diffuse_color = (0.75, 0.62, 0.55, 1.0)
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    if bsdf is not None:
        bsdf.inputs["Base Color"].default_value = (0.75, 0.62, 0.55, 1.0)
        bsdf.inputs["Roughness"].default_value = 0.6
    for i, (label, _, _) in enumerate(entries):
        row, col = divmod(i, 3)
        mesh = _mesh(f"open_body_{i}", verts[i], data.f)
        mesh.materials.append(mat)
        obj = bpy.data.objects.new(label, mesh)
        obj.rotation_euler = (math.pi / 2, 0.0, 0.0)  # SMPL Y-up → Blender Z-up, once, at object level
        obj.location = ((col - 1) * spacing, 0.0, -row * 2.3)
        scene.collection.objects.link(obj)
    cam_data = bpy.data.cameras.new("SheetCamera")
    cam_data.type = "ORTHO"
    cam_data.ortho_scale = 6.4
    cam = bpy.data.objects.new("SheetCamera", cam_data)
    # Front view turned 25 degrees to the body's left, a little from above (Blender: front of body is -Y).
    cam.rotation_euler = (math.radians(82), 0.0, math.radians(25))
    cam.location = (4.2, -9.1, 0.15)
    scene.collection.objects.link(cam)
    scene.camera = cam
    add_key_light(scene.collection)
    return scene


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "open_body.png"))
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--width", type=int, default=960)
    parser.add_argument("--height", type=int, default=720)
    args = parser.parse_args(argv)

    from inference.body.open_body import load_open_body
    from bodyrig.operators.render import render_png, setup_cycles

    scene = build_scene(load_open_body())
    setup_cycles(scene, samples=args.samples, transparent=False)
    scene.render.resolution_x, scene.render.resolution_y = args.width, args.height
    scene.render.resolution_percentage = 100
    out = render_png(args.out, scene)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
