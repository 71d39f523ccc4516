"""Run inside Debian 13's Blender (`blender -b --factory-startup --online-mode -P driver.py -- ZIP WORK OUT STEPS`)
by test_real_blender.py: install the zip with Blender's extension machinery, enable it, press Install
Dependencies (a real pip run), then import and export as a user would, and write what happened to OUT (JSON).

STEPS is a comma list of the steps to run (those whose inputs exist); the repository is not on sys.path here.
"""

import json
import os
import sys
import time
import traceback

ZIP, WORK, OUT, STEPS = sys.argv[sys.argv.index("--") + 1:][:4]
STEPS = set(STEPS.split(","))
report = {"steps": {}, "python": list(sys.version_info[:3]), "executable": sys.executable}


def step(name):
    def wrap(fn):
        if name not in STEPS:
            return fn
        started = time.time()
        try:
            report["steps"][name] = {"ok": True, **(fn() or {})}
        except Exception as exc:
            report["steps"][name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                                     "traceback": traceback.format_exc()}
        report["steps"][name]["seconds"] = round(time.time() - started, 1)
        with open(OUT, "w") as fh:  # after every step, so a crash keeps what was done
            json.dump(report, fh, indent=1, default=str)
        return fn
    return wrap


import bpy  # noqa: E402

report["blender"] = bpy.app.version_string
report["online_access"] = bpy.app.online_access


def run_op(op, **kw):
    """Call an operator; a reported error comes back as (None, message)."""
    try:
        return sorted(op(**kw)), None
    except RuntimeError as exc:
        return None, str(exc)


def module_name():
    return next(m for m in sys.modules if m.startswith("bl_ext.") and m.endswith(".bodyrig"))


def installer():
    return sys.modules[module_name() + ".blender_addon.installer"]


def armatures():
    return [o for o in bpy.data.objects if o.type == "ARMATURE"]


def scene_state():
    arms = armatures()
    out = {"objects": sorted(o.name for o in bpy.data.objects), "meshes": len(bpy.data.meshes),
           "armatures": len(arms), "actions": len(bpy.data.actions),
           "bones": [len(a.data.bones) for a in arms], "cameras": len(bpy.data.cameras),
           "fps": bpy.context.scene.render.fps / bpy.context.scene.render.fps_base}
    for a in arms:
        if a.animation_data and a.animation_data.action:
            out.setdefault("frame_ranges", []).append(list(a.animation_data.action.frame_range))
    skinned = [o for o in bpy.data.objects if o.type == "MESH" and any(m.type == "ARMATURE" for m in o.modifiers)]
    out["skinned_meshes"] = [{"name": o.name, "vertices": len(o.data.vertices), "groups": len(o.vertex_groups)}
                             for o in skinned]
    return out


@step("install")
def _():
    result = bpy.ops.extensions.package_install_files(filepath=ZIP, repo="user_default", enable_on_install=True)
    module = module_name()
    inst = installer()
    return {"result": sorted(result), "module": module, "file": sys.modules[module].__file__,
            "site_packages": inst.site_packages(create=False),
            "status_before": inst.dependency_status(), "python_problem": inst.python_problem(),
            "pins": inst.requirement_set() if not inst.python_problem() else {}}


@step("dependencies")
def _():
    import importlib.metadata

    inst = installer()
    started = time.time()
    result, error = run_op(bpy.ops.bodyrig.install_dependencies)
    seconds = time.time() - started
    state = inst.installer_state()
    target = inst.site_packages(create=False)
    versions, locations = {}, {}
    for dist in importlib.metadata.distributions(path=[target]):
        versions[dist.metadata["Name"].lower()] = dist.version
    import numpy

    for module in ("torch", "mediapipe", "cv2", "scipy", "skimage", "smplx", "anny", "smplcodec", "tqdm"):
        locations[module] = getattr(__import__(module), "__file__", None)
    return {"result": result, "error": error, "state_error": state["error"], "done": state["done"],
            "pip_seconds": round(seconds, 1), "target": target, "versions": versions, "locations": locations,
            "numpy": numpy.__version__, "numpy_file": numpy.__file__, "status_after": inst.dependency_status(),
            "log_tail": (state["log"] or "")[-2000:]}


@step("import_motion")
def _():
    bpy.ops.wm.read_homefile(use_empty=True)
    result, error = run_op(bpy.ops.bodyrig.import_motion, filepath=os.path.join(WORK, "motion.npz"))
    return {"result": result, "error": error, "scene": scene_state()}


@step("export")
def _():
    arm = armatures()[0]
    bpy.context.view_layer.objects.active = arm
    out = {}
    for ext in ("fbx", "glb", "bvh", "npz"):
        path = os.path.join(WORK, f"export.{ext}")
        result, error = run_op(bpy.ops.bodyrig.export, filepath=path)
        out[ext] = {"result": result, "error": error, "size": os.path.getsize(path) if os.path.exists(path) else 0}
    return out


@step("reimport")
def _():
    """Blender's own importers read the exports back (an independent reader of each file)."""
    out = {}
    importers = {"fbx": lambda p: bpy.ops.import_scene.fbx(filepath=p),
                 "glb": lambda p: bpy.ops.import_scene.gltf(filepath=p),
                 "bvh": lambda p: bpy.ops.import_anim.bvh(filepath=p)}
    for ext, load in importers.items():
        bpy.ops.wm.read_homefile(use_empty=True)
        path = os.path.join(WORK, f"export.{ext}")
        try:
            result = sorted(load(path))
        except RuntimeError as exc:
            out[ext] = {"error": str(exc)}
            continue
        out[ext] = {"result": result, "scene": scene_state()}
    return out


@step("import_photo")
def _():
    bpy.ops.wm.read_homefile(use_empty=True)
    photo = os.path.join(os.path.dirname(sys.modules[module_name()].__file__), "data", "sample_photo.jpg")
    result, error = run_op(bpy.ops.bodyrig.import_photo, filepath=photo)
    return {"result": result, "error": error, "scene": scene_state(), "photo": photo}


@step("import_video")
def _():
    bpy.ops.wm.read_homefile(use_empty=True)
    result, error = run_op(bpy.ops.bodyrig.import_video, filepath=os.path.join(WORK, "clip.mp4"))
    return {"result": result, "error": error, "scene": scene_state(), "fps": bpy.context.scene.render.fps}


with open(OUT, "w") as fh:
    json.dump(report, fh, indent=1, default=str)
