"""The rig is exact: Blender's evaluated, skinned mesh equals the body model's LBS to 1e-5 m."""

from __future__ import annotations

import numpy as np
import pytest

from inference.body import tiny_model
from inference.body.skeleton import SMPL_JOINT_NAMES, SMPL_PARENTS
from inference.errors import BadInputError
from inference.rotations import axis_angle_to_matrix

from tests.blender.rig_helpers import evaluated_body_vertices, open_body_data, reference_vertices, smpl_file_data

TOL = 1e-5  # metres, max over vertices
NUM_POSES = 21


def _random_poses(n=NUM_POSES, seed=7):
    """n poses [n,24,3]: small, medium and large ones (components up to ±π), plus turns of exactly ~π."""
    rng = np.random.default_rng(seed)
    scale = np.linspace(0.2, 1.0, n)[:, None, None]
    poses = rng.uniform(-np.pi, np.pi, (n, 24, 3)) * scale
    axis = rng.standard_normal((24, 3))
    poses[-1] = (np.pi - 1e-4) * axis / np.linalg.norm(axis, axis=1, keepdims=True)  # near-180° everywhere
    transl = rng.uniform(-1.0, 1.0, (n, 3)) + np.array([0.0, 0.0, 3.0])
    return poses, transl


def _check_exact(data, betas, shape_keys=False, n=NUM_POSES):
    from bodyrig.operators.pose import read_pose, set_pose
    from bodyrig.operators.rig import build_character

    char = build_character(data, betas=betas, shape_keys=shape_keys)
    poses, transl = _random_poses(n)
    ref = reference_vertices(data, poses, betas, transl)
    worst = 0.0
    for i in range(n):
        set_pose(char, poses[i], transl[i])
        got = evaluated_body_vertices(char.mesh)
        worst = max(worst, np.abs(got - ref[i]).max())
        back_pose, back_transl = read_pose(char)
        np.testing.assert_allclose(axis_angle_to_matrix(back_pose), axis_angle_to_matrix(poses[i]), atol=1e-5)
        np.testing.assert_allclose(back_transl, transl[i], atol=1e-6)
    assert worst < TOL, f"evaluated mesh differs from the model's skinning by {worst:.3g} m"
    return char


def test_tiny_exact_with_pose_correctives_and_betas():
    data = tiny_model(pose_correctives=True)
    betas = np.linspace(-1.5, 2.0, data.num_betas)
    # The correctives must matter at this tolerance, or the drivers would go untested.
    poses, transl = _random_poses(2)
    plain = reference_vertices(tiny_model(pose_correctives=False), poses, betas, transl)
    assert np.abs(reference_vertices(data, poses, betas, transl) - plain).max() > 100 * TOL
    char = _check_exact(data, betas)
    keys = char.mesh.data.shape_keys.key_blocks
    assert [k.name for k in keys][1:4] == ["Pose000", "Pose001", "Pose002"] and len(keys) == 1 + 207
    drivers = char.mesh.data.shape_keys.animation_data.drivers
    assert len(drivers) == 207 and all(d.driver.is_simple_expression for d in drivers)


def test_tiny_exact_with_shape_keys_and_correctives():
    data = tiny_model(pose_correctives=True)
    betas = np.array([2.0, -1.0, 0.5, 3.0])
    char = _check_exact(data, betas, shape_keys=True, n=6)
    keys = char.mesh.data.shape_keys.key_blocks
    assert [keys[f"Shape{k:03d}"].value for k in range(4)] == pytest.approx(betas)
    assert len(keys) == 1 + data.num_betas + 207


@pytest.mark.parametrize("source", ["open", "smpl"])
def test_full_body_exact(source):
    data = open_body_data() if source == "open" else smpl_file_data()
    betas = np.linspace(-1.0, 1.0, min(10, data.num_betas))
    _check_exact(data, betas)


def test_rig_structure():
    import bpy

    from bodyrig.operators.rig import build_character

    data = tiny_model()
    betas = np.array([1.0, 0.5])
    char = build_character(data, betas=betas, name="Hero")
    arm, mesh = char.armature, char.mesh
    assert char.collection.name == "Hero" and set(char.collection.objects) == {arm, mesh}
    assert char.collection.name in bpy.context.scene.collection.children
    assert np.allclose(arm.rotation_euler, (np.pi / 2, 0, 0)) and arm.rotation_mode == "XYZ"
    bones = arm.data.bones
    assert sorted(b.name for b in bones) == sorted(SMPL_JOINT_NAMES)
    rest_joints = reference_rest_joints(data, betas)
    for j, name in enumerate(SMPL_JOINT_NAMES):
        b = bones[name]
        parent = SMPL_PARENTS[j]
        assert (b.parent.name if b.parent else None) == (SMPL_JOINT_NAMES[parent] if parent >= 0 else None)
        m = np.array(b.matrix_local)
        np.testing.assert_allclose(m[:3, :3], np.eye(3), atol=1e-6)  # one shared rest orientation
        np.testing.assert_allclose(m[:3, 3], rest_joints[j], atol=1e-6)  # heads at the shaped rest joints
        tail_dir = np.array(b.tail_local) - np.array(b.head_local)
        assert tail_dir[1] > 0 and np.allclose(tail_dir[[0, 2]], 0, atol=1e-7)
        assert arm.pose.bones[name].rotation_mode == "QUATERNION"
    # Mesh: rest vertices are the shaped template; faces, UVs, smooth shading, skinning, modifier, parent.
    co = np.empty(3 * len(mesh.data.vertices), dtype=np.float32)
    mesh.data.vertices.foreach_get("co", co)
    np.testing.assert_allclose(co.reshape(-1, 3), data.v_template + data.shapedirs[:, :, :2] @ betas, atol=1e-6)
    assert len(mesh.data.polygons) == len(data.f) and mesh.data.uv_layers
    uv = np.empty(2 * len(mesh.data.loops), dtype=np.float32)
    mesh.data.uv_layers[0].data.foreach_get("uv", uv)
    np.testing.assert_allclose(uv.reshape(-1, 2), data.vt[data.ft].reshape(-1, 2), atol=1e-6)
    assert all(p.use_smooth for p in mesh.data.polygons)
    mod = next(m for m in mesh.modifiers if m.type == "ARMATURE")
    assert mod.object == arm and mod.use_vertex_groups and not mod.use_bone_envelopes
    assert not mod.use_deform_preserve_volume
    assert mesh.parent == arm and np.allclose(np.array(mesh.matrix_parent_inverse), np.eye(4))
    weights = np.zeros_like(data.weights)
    for v in mesh.data.vertices:
        for g in v.groups:
            weights[v.index, g.group] = g.weight
    assert [g.name for g in mesh.vertex_groups] == list(SMPL_JOINT_NAMES)
    np.testing.assert_allclose(weights, data.weights, atol=1e-7)


def reference_rest_joints(data, betas):
    import torch

    from inference.body import BodyModel

    out = BodyModel(data, dtype=torch.float64).forward(np.zeros((1, 24, 3)), np.asarray(betas)[None])
    return out.rest_joints[0].numpy()


def test_shape_key_sliders_and_update_joints():
    import bpy

    import bodyrig.operators as operators
    from bodyrig.operators.rig import build_character

    data = tiny_model()
    char = build_character(data, shape_keys=True)
    keys = char.mesh.data.shape_keys.key_blocks
    shape_keys = [k for k in keys if k.name.startswith("Shape")]
    assert [k.name for k in shape_keys] == [f"Shape{k:03d}" for k in range(data.num_betas)]
    assert all(k.slider_min <= -5 and k.slider_max >= 5 for k in shape_keys)
    keys["Shape000"].value = 2.0
    assert keys["Shape000"].value == 2.0  # not clamped to [0, 1]

    operators.register()
    try:
        bpy.context.view_layer.objects.active = char.mesh
        assert bpy.ops.bodyrig.update_joints() == {"FINISHED"}
    finally:
        operators.unregister()
    want = reference_rest_joints(data, [2.0])
    assert np.abs(want - reference_rest_joints(data, [0.0])).max() > 1e-2  # the shape really moves joints
    heads = np.array([char.armature.data.bones[n].head_local for n in SMPL_JOINT_NAMES])
    np.testing.assert_allclose(heads, want, atol=1e-5)
    # And the skinning stays exact for the new shape.
    from bodyrig.operators.pose import set_pose

    poses, transl = _random_poses(3)
    set_pose(char, poses[1], transl[1])
    ref = reference_vertices(data, poses[1:2], [2.0], transl[1:2])[0]
    assert np.abs(evaluated_body_vertices(char.mesh) - ref).max() < TOL


def test_update_joints_operator_reports_a_plain_mesh():
    import bpy

    import bodyrig.operators as operators

    obj = bpy.data.objects.new("Plain", bpy.data.meshes.new("Plain"))
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    operators.register()
    try:
        # The operator reports the BodyRigError; headless bpy turns an ERROR report into RuntimeError.
        with pytest.raises(RuntimeError, match="not a BodyRig character"):
            bpy.ops.bodyrig.update_joints()
    finally:
        operators.unregister()


def test_set_pose_rejects_bad_shapes_and_keys_a_frame():
    import bpy

    from bodyrig.operators.pose import read_pose, set_pose
    from bodyrig.operators.rig import build_character

    with pytest.raises(BadInputError):
        build_character(tiny_model(num_betas=4), betas=np.ones(5))
    char = build_character(tiny_model())
    with pytest.raises(BadInputError):
        set_pose(char, np.zeros((23, 3)))
    poses, transl = _random_poses(3)
    set_pose(char.armature, poses[0], transl[0], frame=1)
    set_pose(char.mesh, poses[1], transl[1], frame=10)  # the mesh object works as a handle too
    bpy.context.scene.frame_set(5)
    for frame, i in ((1, 0), (10, 1)):
        p, t = read_pose(char, frame=frame)
        np.testing.assert_allclose(axis_angle_to_matrix(p), axis_angle_to_matrix(poses[i]), atol=1e-5)
        np.testing.assert_allclose(t, transl[i], atol=1e-6)
