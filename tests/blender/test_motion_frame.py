"""A motion .npz written in AMASS's Z-up frame (inference.motion_io) imports upright and on the floor, onto a new
character and onto an existing one, and File > Export writes it back Z up so that it re-imports the same."""

from __future__ import annotations

import json

import numpy as np

from inference.body import tiny_model


def _standing(data, betas):
    """Standing in the Y-up world: rest pose turned about the vertical, walking, soles (lowest vertex) at y = 0."""
    from inference.results import MotionFit

    verts = data.shaped(betas)[0]
    pose = np.zeros((3, 24, 3))
    pose[:, 0, 1] = [0.0, 1.2, -2.4]
    transl = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, -0.4], [1.5, 0.0, 1.0]])
    transl[:, 1] = -verts[:, 1].min()
    height = verts[:, 1].max() - verts[:, 1].min()
    return MotionFit(pose=pose, transl=transl, betas=betas, fps=30.0, body_model="tiny"), height


def _blender_heights(arm):
    """Per frame of the scene: (lowest, highest) z of the character's evaluated mesh in Blender's world (Z up)."""
    import bpy

    mesh = next(c for c in arm.children if c.type == "MESH")
    scene = bpy.context.scene
    out = []
    for f in range(scene.frame_start, scene.frame_end + 1):
        scene.frame_set(f)
        ev = mesh.evaluated_get(bpy.context.evaluated_depsgraph_get())
        me = ev.to_mesh()
        co = np.empty(3 * len(me.vertices), dtype=np.float32)
        me.vertices.foreach_get("co", co)
        ev.to_mesh_clear()
        mw = np.array(ev.matrix_world, dtype=np.float64)
        z = (co.reshape(-1, 3) @ mw[:3, :3].T + mw[:3, 3])[:, 2]
        out.append((z.min(), z.max()))
    return np.array(out)


def test_z_up_motion_imports_upright_on_the_floor_and_exports_back(operators_on, tmp_path):
    import bpy

    from inference.motion_io import save_motion

    data = tiny_model()
    betas = np.zeros(data.num_betas)
    motion, height = _standing(data, betas)
    path = save_motion(motion, tmp_path / "walk.npz")
    with np.load(path) as f:
        assert json.loads(str(f["bodyrig_metadata"]))["up_axis"] == "z"
        assert f["trans"][:, 2].std() < 1e-9  # Z up in the file: the height is trans z (constant here)
    assert bpy.ops.bodyrig.import_motion(filepath=str(path)) == {"FINISHED"}
    arm = bpy.context.view_layer.objects.active
    z = _blender_heights(arm)
    assert len(z) == 3
    np.testing.assert_allclose(z[:, 0], 0.0, atol=1e-4)  # on the floor
    np.testing.assert_allclose(z[:, 1], height, atol=1e-4)  # standing, its height along Blender's +Z

    # File > Export writes it Z up again, with the rig's rest pelvis: it re-imports onto the same spot
    out = tmp_path / "exported.npz"
    assert bpy.ops.bodyrig.export(filepath=str(out)) == {"FINISHED"}
    with np.load(out) as f:
        np.testing.assert_allclose(f["trans"], np.load(path)["trans"], atol=1e-5)
    assert bpy.ops.bodyrig.import_motion(filepath=str(out), target="SELECTED") == {"FINISHED"}
    np.testing.assert_allclose(_blender_heights(arm), z, atol=1e-4)


def test_old_y_up_file_imports_upright_on_the_floor_too(operators_on, tmp_path):
    """A motion written before the Z-up format (bodyrig_metadata without up_axis) keeps working."""
    import bpy

    data = tiny_model()
    motion, height = _standing(data, np.zeros(data.num_betas))
    path = tmp_path / "old.npz"
    np.savez(path, poses=motion.pose.reshape(3, 72), trans=motion.transl, betas=motion.betas,
             gender=np.array("neutral"), mocap_framerate=np.array(30.0),
             bodyrig_metadata=np.array(json.dumps({"frame": "world", "version": 1})))
    assert bpy.ops.bodyrig.import_motion(filepath=str(path)) == {"FINISHED"}
    z = _blender_heights(bpy.context.view_layer.objects.active)
    np.testing.assert_allclose(z[:, 0], 0.0, atol=1e-4)
    np.testing.assert_allclose(z[:, 1], height, atol=1e-4)
