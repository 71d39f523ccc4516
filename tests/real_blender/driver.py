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


# A Mixamo-named target built at the source's joints, with Blender's own bone axes (each bone points at its
# child, a roll of its own) and a 0.01 object scale: what an FBX from Mixamo brings.
MIXAMO = {"pelvis": "Hips", "spine1": "Spine", "spine2": "Spine1", "spine3": "Spine2", "neck": "Neck",
          "head": "Head", "left_hip": "LeftUpLeg", "left_knee": "LeftLeg", "left_ankle": "LeftFoot",
          "left_foot": "LeftToeBase", "right_hip": "RightUpLeg", "right_knee": "RightLeg",
          "right_ankle": "RightFoot", "right_foot": "RightToeBase", "left_collar": "LeftShoulder",
          "left_shoulder": "LeftArm", "left_elbow": "LeftForeArm", "left_wrist": "LeftHand",
          "right_collar": "RightShoulder", "right_shoulder": "RightArm", "right_elbow": "RightForeArm",
          "right_wrist": "RightHand"}
LIMBS = (("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("right_hip", "right_knee"),
         ("right_knee", "right_ankle"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
         ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"))


def mixamo_target(src):
    heads = {b.name: src.matrix_world @ b.head_local for b in src.data.bones}
    data = bpy.data.armatures.new("MixamoTarget")
    tgt = bpy.data.objects.new("MixamoTarget", data)
    bpy.context.scene.collection.objects.link(tgt)
    tgt.scale = (0.01, 0.01, 0.01)
    bpy.context.view_layer.objects.active = tgt
    bpy.ops.object.mode_set(mode="EDIT")
    children = {}
    for b in src.data.bones:
        if b.parent is not None and b.parent.name in MIXAMO and b.name in MIXAMO:
            children.setdefault(b.parent.name, b.name)
    for joint, name in MIXAMO.items():
        eb = data.edit_bones.new("mixamorig:" + name)
        eb.head = heads[joint] * 100.0
        tail = heads[children[joint]] if joint in children else heads[joint] + (heads[joint] - heads[src.data.bones[joint].parent.name]) * 0.5
        eb.tail = tail * 100.0
        eb.roll = 0.3
    for joint, name in MIXAMO.items():
        parent = src.data.bones[joint].parent
        if parent is not None and parent.name in MIXAMO:
            data.edit_bones["mixamorig:" + name].parent = data.edit_bones["mixamorig:" + MIXAMO[parent.name]]
    bpy.ops.object.mode_set(mode="OBJECT")
    return tgt


@step("retarget")
def _():
    """bodyrig.retarget onto a Mixamo-named rig: limb directions compared in world space over the motion."""
    from mathutils import Vector

    bpy.ops.wm.read_homefile(use_empty=True)
    result, error = run_op(bpy.ops.bodyrig.import_motion, filepath=os.path.join(WORK, "motion.npz"))
    src = armatures()[0]
    tgt = mixamo_target(src)
    result, error = run_op(bpy.ops.bodyrig.retarget, source=src.name, target=tgt.name, preset="AUTO")
    scene = bpy.context.scene
    start, end = (int(f) for f in src.animation_data.action.frame_range)
    worst = mean = 0.0
    count = 0
    for frame in range(start, end + 1):
        scene.frame_set(frame)
        for a, b in LIMBS:
            s = (src.matrix_world @ src.pose.bones[b].head) - (src.matrix_world @ src.pose.bones[a].head)
            t = (tgt.matrix_world @ tgt.pose.bones["mixamorig:" + MIXAMO[b]].head) - (
                tgt.matrix_world @ tgt.pose.bones["mixamorig:" + MIXAMO[a]].head)
            angle = Vector(s).angle(Vector(t), 0.0) * 57.29577951308232
            worst, mean, count = max(worst, angle), mean + angle, count + 1
    action = tgt.animation_data.action if tgt.animation_data else None
    return {"result": result, "error": error, "action": action.name if action else None,
            "constraints": sum(len(pb.constraints) for pb in tgt.pose.bones), "mode": tgt.mode,
            "mean_deg": mean / max(count, 1), "max_deg": worst, "frames": end - start + 1}


with open(OUT, "w") as fh:
    json.dump(report, fh, indent=1, default=str)
