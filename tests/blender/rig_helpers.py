"""Shared by the rig and animation tests: Blender's evaluated mesh in the body frame, and the model's reference."""

from __future__ import annotations

import os

import numpy as np
import pytest

# Blender world (Z up) → body frame (Y up): the inverse of the armature object's +90° turn about X.
WORLD_TO_BODY = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # written here, not imported: a check


def evaluated_body_vertices(mesh_obj) -> np.ndarray:
    """The depsgraph-evaluated mesh (modifiers, drivers, shape keys) in world coordinates, turned back to the
    body frame → [V,3] float64."""
    import bpy

    depsgraph = bpy.context.evaluated_depsgraph_get()
    ev = mesh_obj.evaluated_get(depsgraph)
    me = ev.to_mesh()
    try:
        co = np.empty(3 * len(me.vertices), dtype=np.float32)
        me.vertices.foreach_get("co", co)
    finally:
        ev.to_mesh_clear()
    mw = np.array(ev.matrix_world, dtype=np.float64)
    world = co.reshape(-1, 3).astype(np.float64) @ mw[:3, :3].T + mw[:3, 3]
    return world @ WORLD_TO_BODY.T


def reference_vertices(data, pose, betas, transl) -> np.ndarray:
    """BodyModel.forward in float64: pose [B,24,3], betas [K'], transl [B,3] → vertices [B,V,3]."""
    import torch

    from inference.body import BodyModel

    pose = np.asarray(pose, dtype=np.float64)
    b = len(pose)
    out = BodyModel(data, dtype=torch.float64).forward(pose, np.tile(np.asarray(betas, float), (b, 1)), transl)
    return out.vertices.numpy()


def open_body_data():
    """The open body (it ships with BodyRig: failing to load it is a failure, not a skip)."""
    from inference.body.load import load_body

    return load_body("open")


def smpl_file_data():
    """The real SMPL model at $BODYRIG_SMPL_MODEL, or a skip."""
    path = os.environ.get("BODYRIG_SMPL_MODEL")
    if not path:
        pytest.skip("set BODYRIG_SMPL_MODEL to an SMPL .pkl/.npz file to test the rig on real SMPL")
    from inference.body.load import load_body

    return load_body(path)
