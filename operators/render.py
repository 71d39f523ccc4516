"""Rendering a scene to PNG headlessly (Cycles on the CPU: EEVEE and Workbench need a GPU context).

`render_png` renders the scene's camera; `composite_over` lays a transparent render over a photo so the
result can be checked against the picture it came from.
"""

from __future__ import annotations

from pathlib import Path

import bpy

from inference.fileio import atomic_path


def setup_cycles(scene, samples: int = 16, transparent: bool = True, device: str = "CPU") -> None:
    """Few samples and no denoiser: enough to look at a body, fast on 2 cores."""
    scene.render.engine = "CYCLES"
    scene.cycles.device = device
    scene.cycles.samples = samples
    scene.cycles.use_denoising = False
    scene.cycles.max_bounces = 2
    scene.render.film_transparent = transparent
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA" if transparent else "RGB"


def add_three_point_light(collection, target, distance: float = 4.0, name: str = "BodyRigLight"):
    """A key sun and a soft world colour: readable shading without tuning per scene."""
    sun = bpy.data.lights.new(f"{name}_key", type="SUN")
    sun.energy = 3.0
    obj = bpy.data.objects.new(sun.name, sun)
    obj.rotation_euler = (0.9, 0.3, 0.6)
    collection.objects.link(obj)
    world = bpy.context.scene.world or bpy.data.worlds.new("BodyRigWorld")
    bpy.context.scene.world = world
    world.color = (0.35, 0.35, 0.38)
    if world.use_nodes and world.node_tree and "Background" in world.node_tree.nodes:
        world.node_tree.nodes["Background"].inputs[0].default_value = (0.35, 0.35, 0.38, 1.0)
        world.node_tree.nodes["Background"].inputs[1].default_value = 1.0
    return obj


def render_png(path, scene=None) -> Path:
    """Render the scene's active camera into `path` (written atomically)."""
    scene = scene or bpy.context.scene
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        scene.render.filepath = str(tmp)
        bpy.ops.render.render(write_still=True)
    return path


def composite_over(render_png_path, photo_rgb, out_path, alpha: float = 0.75) -> Path:
    """Alpha-blend a transparent render over the photo (H,W,3 uint8) and write a PNG."""
    import numpy as np
    from PIL import Image

    fg = np.asarray(Image.open(render_png_path).convert("RGBA"), dtype=np.float32) / 255.0
    bg = np.asarray(photo_rgb, dtype=np.float32) / 255.0
    if fg.shape[:2] != bg.shape[:2]:
        fg = np.asarray(Image.open(render_png_path).convert("RGBA").resize(bg.shape[1::-1]),
                        dtype=np.float32) / 255.0
    a = fg[..., 3:4] * alpha
    out = (fg[..., :3] * a + bg * (1 - a)) * 255.0
    with atomic_path(out_path, suffix=".png") as tmp:
        Image.fromarray(out.clip(0, 255).astype(np.uint8)).save(tmp)
    return Path(out_path)
