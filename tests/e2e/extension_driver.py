"""Run inside a fresh Python (PyPI bpy) by test_extension.py: install the built zip with Blender's extension
machinery into a temporary user folder, enable it, run every operator and panel, uninstall, and write what
happened to a JSON file. The repository is NOT on sys.path here, so only the zip's contents are used.

    python extension_driver.py ZIP WORK_DIR OUT_JSON
WORK_DIR holds the inputs (motion.npz, clip.mp4) and receives the exports; BLENDER_USER_RESOURCES must point at
an empty folder before this starts (bpy reads it at import).
"""

import json
import os
import sys
import traceback

ZIP, WORK, OUT = sys.argv[1:4]
RENDER = os.environ.get("BODYRIG_RENDER_DIR")
report = {"steps": {}}


def step(name):
    def wrap(fn):
        try:
            report["steps"][name] = {"ok": True, **(fn() or {})}
        except Exception as exc:
            report["steps"][name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                                     "traceback": traceback.format_exc()}
        return fn
    return wrap


import bpy  # noqa: E402
import addon_utils  # noqa: E402

report["repo_on_path"] = any(os.path.isfile(os.path.join(p or ".", "blender_manifest.toml")) for p in sys.path)


def scene_state():
    return {"objects": sorted(o.name for o in bpy.data.objects), "meshes": len(bpy.data.meshes),
            "armatures": len(bpy.data.armatures), "actions": len(bpy.data.actions),
            "collections": sorted(c.name for c in bpy.data.collections), "fps": bpy.context.scene.render.fps}


def bodyrig_registered():
    ops = [n for n in dir(bpy.ops.bodyrig) if hasattr(bpy.types, f"BODYRIG_OT_{n}")]
    types = [n for n in dir(bpy.types) if n.startswith(("BODYRIG_", "BodyRig"))]
    prefs = [a.module for a in bpy.context.preferences.addons if a.module.endswith(".bodyrig")]
    menus = [getattr(f, "__module__", "") for m in (bpy.types.TOPBAR_MT_file_import, bpy.types.TOPBAR_MT_file_export)
             for f in getattr(m.draw, "_draw_funcs", [])]
    return {"operators": ops, "types": types, "addons": prefs,
            "menu_funcs": [m for m in menus if "bodyrig" in m]}


def top_level_names():
    """BodyRig's packages importable by a top-level name (there must be none inside Blender)."""
    return sorted(n for n in sys.modules if n.split(".")[0] in ("inference", "operators", "blender_addon", "bodyrig",
                                                               "repo_package"))


def run_op(op, **kw):
    """Call an operator; a reported error comes back as (None, message)."""
    try:
        return sorted(op(**kw)), None
    except RuntimeError as exc:
        return None, str(exc)


def render(name):
    if not RENDER:
        return
    scene = bpy.context.scene
    import math

    if scene.camera is None:
        cam = bpy.data.objects.new("ViewCam", bpy.data.cameras.new("ViewCam"))
        scene.collection.objects.link(cam)
        cam.location = (0.0, -4.0, 1.0)
        cam.rotation_euler = (math.radians(88), 0.0, 0.0)
        scene.camera = cam
    if not any(o.type == "LIGHT" for o in scene.objects):
        sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
        sun.rotation_euler = (0.6, 0.2, 0.3)
        scene.collection.objects.link(sun)
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = 8
    scene.render.resolution_x, scene.render.resolution_y = 320, 320
    scene.render.resolution_percentage = 100
    scene.render.filepath = os.path.join(RENDER, name + ".png")
    bpy.ops.render.render(write_still=True)


@step("install")
def _():
    result = bpy.ops.extensions.package_install_files(filepath=ZIP, repo="user_default", enable_on_install=True)
    module = next(m for m in sys.modules if m.startswith("bl_ext.") and m.endswith(".bodyrig"))
    prefs = bpy.context.preferences.addons[module].preferences
    return {"result": sorted(result), "module": module, "file": sys.modules[module].__file__,
            "prefs_idname": type(prefs).bl_idname, "body_source": prefs.body_source, "device": prefs.device,
            "registered": bodyrig_registered(), "inference_file": sys.modules[module + ".inference"].__file__,
            "top_level": top_level_names()}


@step("panels")
def _():
    """Draw every panel and the preferences with a stand-in layout that records what was drawn."""
    import types as pytypes

    class Layout:
        def __init__(self, log):
            self.log, self.enabled = log, True

        def __getattr__(self, name):
            def call(*args, **kw):
                first = args[0] if args and isinstance(args[0], str) else ""
                self.log.append((name, first if name == "operator" else kw.get("text", first)))
                if name in ("row", "column", "box", "split", "column_flow", "grid_flow"):
                    return self
                if name == "operator":
                    return pytypes.SimpleNamespace()
                return None
            return call

    drawn = {}
    for name in ("BODYRIG_PT_import", "BODYRIG_PT_character", "BODYRIG_PT_export"):
        cls = getattr(bpy.types, name)
        log = []
        cls.draw(pytypes.SimpleNamespace(layout=Layout(log)), bpy.context)
        drawn[name] = log
    module = report["steps"]["install"]["module"]
    prefs = bpy.context.preferences.addons[module].preferences
    log = []
    sys.modules[module + ".blender_addon.preferences"].draw_preferences(prefs, Layout(log))
    drawn["preferences"] = log
    for menu in (bpy.types.TOPBAR_MT_file_import, bpy.types.TOPBAR_MT_file_export):
        log = []
        for fn in menu.draw._draw_funcs:
            if "bodyrig" in getattr(fn, "__module__", ""):
                fn(pytypes.SimpleNamespace(layout=Layout(log)), bpy.context)
        drawn[menu.__name__] = log
    return {"drawn": drawn, "sidebar_category": bpy.types.BODYRIG_PT_import.bl_category}


@step("install_dependencies_offline")
def _():
    result, error = run_op(bpy.ops.bodyrig.install_dependencies)
    return {"online_access": bpy.app.online_access, "result": result, "error": error}


@step("import_photo")
def _():
    bpy.ops.wm.read_homefile(use_empty=True)
    module = next(m for m in sys.modules if m.startswith("bl_ext.") and m.endswith(".bodyrig"))
    photo = os.path.join(os.path.dirname(sys.modules[module].__file__), "data", "sample_photo.jpg")
    result, error = run_op(bpy.ops.bodyrig.import_photo, filepath=os.path.abspath(photo))
    arm = next((o for o in bpy.data.objects if o.type == "ARMATURE"), None)
    state = scene_state()
    render("import_photo")
    return {"result": result, "error": error, "scene": state,
            "bones": len(arm.data.bones) if arm else 0, "camera": bpy.context.scene.camera is not None,
            "top_level": top_level_names()}


@step("import_motion")
def _():
    bpy.ops.wm.read_homefile(use_empty=True)
    result, error = run_op(bpy.ops.bodyrig.import_motion, filepath=os.path.join(WORK, "motion.npz"))
    arm = next((o for o in bpy.data.objects if o.type == "ARMATURE"), None)
    out = {"result": result, "error": error, "scene": scene_state()}
    if arm is not None:
        bpy.context.view_layer.objects.active = arm
        out["frame_range"] = list(arm.animation_data.action.frame_range)
        out["bones"] = len(arm.data.bones)
        bpy.context.scene.frame_set(int(out["frame_range"][1]))
        render("import_motion")
    return out


@step("import_motion_selected")
def _():
    arm = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    bpy.context.view_layer.objects.active = arm
    before = scene_state()
    result, error = run_op(bpy.ops.bodyrig.import_motion, filepath=os.path.join(WORK, "motion_short.npz"),
                           target="SELECTED")
    return {"result": result, "error": error, "before": before, "after": scene_state(),
            "frame_range": list(arm.animation_data.action.frame_range)}


@step("export")
def _():
    arm = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    bpy.context.view_layer.objects.active = arm
    out = {}
    for ext in ("fbx", "glb", "bvh", "npz"):
        path = os.path.join(WORK, f"export.{ext}")
        result, error = run_op(bpy.ops.bodyrig.export, filepath=path)
        out[ext] = {"result": result, "error": error,
                    "size": os.path.getsize(path) if os.path.exists(path) else 0}
    return out


@step("failures_leave_scene_unchanged")
def _():
    out = {}
    before = scene_state()
    bad = os.path.join(WORK, "broken.npz")
    with open(bad, "wb") as fh:
        fh.write(b"not a zip file")
    for name, op, path in (("video", bpy.ops.bodyrig.import_video, os.path.join(WORK, "clip.mp4")),
                           ("pifu", bpy.ops.bodyrig.import_pifu, os.path.join(WORK, "clip.mp4")),
                           ("bad_motion", bpy.ops.bodyrig.import_motion, bad),
                           ("missing_motion", bpy.ops.bodyrig.import_motion, os.path.join(WORK, "nope.npz")),
                           ("bad_export", bpy.ops.bodyrig.export, os.path.join(WORK, "export.xyz"))):
        result, error = run_op(op, filepath=path)
        out[name] = {"result": result, "error": error, "unchanged": scene_state() == before}
    return out


@step("uninstall")
def _():
    module = report["steps"]["install"]["module"]
    repo_index = [r.module for r in bpy.context.preferences.extensions.repos].index("user_default")
    addon_utils.disable(module, default_set=True)
    after_disable = bodyrig_registered()
    result = bpy.ops.extensions.package_uninstall(repo_index=repo_index, pkg_id="bodyrig")
    folder = next(r for r in bpy.context.preferences.extensions.repos if r.module == "user_default").directory
    return {"after_disable": after_disable, "after_uninstall": bodyrig_registered(), "result": sorted(result),
            "left_in_repo": sorted(n for n in os.listdir(folder) if not n.startswith(".")),
            "site_packages_on_path": [p for p in sys.path if "bodyrig" in p and "site-packages" in p]}


with open(OUT, "w") as fh:
    json.dump(report, fh, indent=1, default=str)
