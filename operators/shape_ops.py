"""Keep the skeleton on the body when shape-key sliders change: `bodyrig.update_joints`.

SMPL's joints are J_regressor @ the shaped rest mesh. After `Shape000…` sliders move, the bone heads are moved
to J_regressor @ (Basis + Σ value·(key − Basis)) over the non-pose keys, so skinning stays SMPL's for the new
shape. Pose-corrective keys (`Pose…`) are left out: SMPL regresses joints before pose offsets.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..inference.errors import BodyRigError

from .rig import POSE_PREFIX, PROP_JREG, character_of, load_regressor, set_rest_joints


def shape_keyed_rest(mesh_obj) -> np.ndarray:
    """The mesh's rest vertices [V,3] (float64) with the shape keys applied, pose correctives excluded."""
    mesh = mesh_obj.data
    n = len(mesh.vertices)
    keys = mesh.shape_keys
    if keys is None:
        co = np.empty(3 * n, dtype=np.float32)
        mesh.vertices.foreach_get("co", co)
        return co.reshape(n, 3).astype(np.float64)
    ref = keys.reference_key
    basis = np.empty(3 * n, dtype=np.float32)
    ref.data.foreach_get("co", basis)
    basis = basis.reshape(n, 3).astype(np.float64)
    rest = basis.copy()
    buf = np.empty(3 * n, dtype=np.float32)
    for key in keys.key_blocks:
        if key == ref or key.mute or key.name.startswith(POSE_PREFIX) or key.value == 0.0:
            continue
        key.data.foreach_get("co", buf)
        rest += key.value * (buf.reshape(n, 3).astype(np.float64) - basis)
    return rest


def update_joints(character_or_object) -> np.ndarray:
    """Move the bone heads to J_regressor @ the shape-keyed mesh. Returns the new rest joints [24,3]."""
    char = character_of(character_or_object)
    if char.mesh is None or PROP_JREG[0] not in char.armature:
        from ..inference.errors import BadInputError

        raise BadInputError(f"'{char.armature.name}' has no BodyRig mesh or joint regressor; rebuild the character")
    rest = shape_keyed_rest(char.mesh)
    joints = load_regressor(char.armature, len(rest)) @ rest
    set_rest_joints(char.armature, joints)
    return joints


class BODYRIG_OT_update_joints(bpy.types.Operator):
    """Move the skeleton's joints to fit the body's current shape-key values"""

    bl_idname = "bodyrig.update_joints"
    bl_label = "Update Joints from Shape"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        return obj is not None and obj.type in {"ARMATURE", "MESH"} and context.mode == "OBJECT"

    def execute(self, context):
        try:
            update_joints(context.active_object)
        except BodyRigError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return {"FINISHED"}
