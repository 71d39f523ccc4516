"""Pieces of the synthetic scenes that the ground-truth renderers share (bpy; Cycles on the CPU).

Used by scripts/render_gt_video.py (a known motion as a video) and scripts/render_photo_set.py (posed bodies
as photos with 3D truth). Import after `repo_package.install()`, inside Blender's Python or the bpy module.
"""

from __future__ import annotations

import numpy as np


def principled(name, color, roughness: float = 0.6):
    """A node material with a Principled BSDF of `color` (RGB in [0,1]); returns (material, bsdf node)."""
    import bpy

    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    bsdf.inputs["Base Color"].default_value = (*[float(c) for c in color], 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    return mat, bsdf


def skin_material(color=(0.8, 0.55, 0.42)):
    return principled("Skin", color, 0.5)[0]


def textured_material(name, kind):
    """A brick or checker material that also glows a little: readable whatever the light's direction."""
    import bpy

    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = nodes.get("Principled BSDF")
    tex = nodes.new("ShaderNodeTexBrick" if kind == "brick" else "ShaderNodeTexChecker")
    tex.inputs["Scale"].default_value = 6.0 if kind == "brick" else 12.0
    links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    links.new(tex.outputs["Color"], bsdf.inputs["Emission Color"])
    bsdf.inputs["Emission Strength"].default_value = 0.5
    return mat


def cloth_material(name, color, rng, pattern: str = "plain"):
    """A fabric-like material: `color` modulated by fine noise, or by stripes/checks of a second colour."""
    mat, bsdf = principled(name, color, 0.8)
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    mix = nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    mix.inputs["A"].default_value = (*color, 1.0)
    other = np.clip(np.asarray(color) * rng.uniform(0.4, 0.8) if pattern == "plain" else rng.uniform(0, 1, 3), 0, 1)
    mix.inputs["B"].default_value = (*[float(c) for c in other], 1.0)
    coord = nodes.new("ShaderNodeTexCoord")
    if pattern == "stripes":
        tex = nodes.new("ShaderNodeTexWave")
        tex.inputs["Scale"].default_value = float(rng.uniform(8, 20))
        links.new(tex.outputs["Fac"], mix.inputs["Factor"])
    elif pattern == "checks":
        tex = nodes.new("ShaderNodeTexChecker")
        tex.inputs["Scale"].default_value = float(rng.uniform(15, 30))
        links.new(tex.outputs["Fac"], mix.inputs["Factor"])
    else:
        tex = nodes.new("ShaderNodeTexNoise")
        tex.inputs["Scale"].default_value = float(rng.uniform(30, 80))
        ramp = nodes.new("ShaderNodeMath")
        ramp.operation = "MULTIPLY"
        ramp.inputs[1].default_value = 0.35
        links.new(tex.outputs["Fac"], ramp.inputs[0])
        links.new(ramp.outputs[0], mix.inputs["Factor"])
    links.new(coord.outputs["Object"], tex.inputs["Vector"])
    links.new(mix.outputs["Result"], bsdf.inputs["Base Color"])
    return mat


def plane(collection, name, corners, mat=None):
    """A quad through four corners (object coordinates), with UVs, linked into `collection`."""
    import bpy

    obj = bpy.data.objects.new(name, bpy.data.meshes.new(name))
    obj.data.from_pydata([tuple(map(float, c)) for c in corners], [], [(0, 1, 2, 3)])
    obj.data.uv_layers.new()
    if mat is not None:
        obj.data.materials.append(mat)
    collection.objects.link(obj)
    return obj


def box(collection, name, lo, hi, mat=None):
    """An axis-aligned box from corner `lo` to corner `hi` (object coordinates)."""
    import bpy

    (x0, y0, z0), (x1, y1, z1) = lo, hi
    verts = [(x, y, z) for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    obj = bpy.data.objects.new(name, bpy.data.meshes.new(name))
    obj.data.from_pydata([tuple(map(float, v)) for v in verts], [], faces)
    if mat is not None:
        obj.data.materials.append(mat)
    collection.objects.link(obj)
    return obj
