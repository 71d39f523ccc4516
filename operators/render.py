"""Rendering a scene to PNG headlessly (Cycles on the CPU: EEVEE and Workbench need a GPU context).

`render_png` renders the scene's camera; `composite_over` lays a transparent render over a photo so the
result can be checked against the picture it came from.
"""

from __future__ import annotations

from pathlib import Path

import bpy

from ..inference.fileio import atomic_path


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


def add_key_light(collection, name: str = "BodyRigLight"):
    """A key sun and a soft grey world: readable shading wherever the subject stands (a sun has no position)."""
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


def add_orbit_camera(collection, target_obj, azimuth_deg: float = 60.0, elevation_deg: float = 10.0,
                     lens: float = 50.0, name: str = "BodyRigOrbitCamera"):
    """A camera looking at `target_obj`'s evaluated bounding box from an azimuth around Z, framing all of it.

    Azimuth 0 looks from -Y toward +Y (Blender's front view); positive turns to the object's right side.
    """
    import math

    import numpy as np
    from mathutils import Vector

    depsgraph = bpy.context.evaluated_depsgraph_get()
    ev = target_obj.evaluated_get(depsgraph)
    corners = np.array([tuple(ev.matrix_world @ Vector(c)) for c in ev.bound_box])
    center = corners.mean(0)
    radius = float(np.linalg.norm(corners - center, axis=1).max())
    cam = bpy.data.cameras.new(name)
    cam.lens = lens
    half_fov = math.atan(cam.sensor_width / (2 * lens))
    distance = 1.1 * radius / math.sin(half_fov)
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    direction = np.array([math.sin(az) * math.cos(el), -math.cos(az) * math.cos(el), math.sin(el)])
    obj = bpy.data.objects.new(name, cam)
    obj.location = Vector(center + distance * direction)
    obj.rotation_euler = (Vector(center) - obj.location).to_track_quat("-Z", "Y").to_euler()
    collection.objects.link(obj)
    return obj


def side_by_side(paths, out_path, height: int | None = None) -> Path:
    """Put PNGs next to each other (scaled to one height) on a white strip; written atomically."""
    from PIL import Image

    images = [Image.open(p).convert("RGBA") for p in paths]
    h = height or max(im.height for im in images)
    scaled = [im.resize((max(1, round(im.width * h / im.height)), h)) for im in images]
    sheet = Image.new("RGBA", (sum(im.width for im in scaled), h), (255, 255, 255, 255))
    x = 0
    for im in scaled:
        sheet.alpha_composite(im, (x, 0))
        x += im.width
    with atomic_path(out_path, suffix=".png") as tmp:
        sheet.convert("RGB").save(tmp)
    return Path(out_path)
