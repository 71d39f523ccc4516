"""An exact SMPL character in Blender: an armature with one bone per SMPL joint and a skinned mesh.

The rule that makes the rig exact (DESIGN.md, "Rig"):
- Every bone has the SAME rest orientation, whose local axes are the body frame's axes: head at the shaped rest
  joint, tail straight along +Y of the body frame, roll 0, so each bone's rest matrix (armature space) is the
  identity rotation plus the joint position. Bones are parented by SMPL's kinematic tree, not connected.
- Hence, with the pose bones in QUATERNION mode, a joint's axis-angle a_j (relative to its parent) is exactly
  its pose-bone rotation: rotation_quaternion = axis_angle_to_quaternion(a_j). Blender's pose chain
  M_j = M_parent · T(J_j − J_parent) · R_j is SMPL's G_j, and the Armature modifier's linear blend
  Σ_j w_j M_j T(−J_j) v is SMPL's skinning.
- Root translation: the pelvis pose bone's location (in its identity rest frame) equals SMPL's `transl`, since
  T(J_0) T(transl) R_0 T(−J_0) v = R_0 (v − J_0) + J_0 + transl.
- The armature is built in the body frame (Y up, facing +Z, metres) and turned Y-up → Z-up once, at object
  level: rotation +90° about X. The mesh is parented to the armature with an identity transform, so the mesh's
  local coordinates ARE body-frame coordinates.

Shape: without shape keys the mesh's rest vertices are the shaped template v_template + shapedirs·betas. With
`shape_keys=True` the Basis is v_template and keys `Shape000…` (value = betas[k], sliders ±5 or wider) add the
shape components; `bodyrig.update_joints` (shape_ops.py) moves the bone heads to J_regressor @ the shape-keyed
mesh. Pose correctives `Pose000…` (only when the model has them) are driven by the bones' quaternions:
weight 9(j−1)+3a+b = (R_j − I)[a, b], SMPL's pose feature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import bpy
import numpy as np

from ..inference.body.skeleton import NUM_JOINTS, SMPL_JOINT_NAMES, SMPL_PARENTS

# Custom properties on the armature object (what update_joints and read-back need later, inside the .blend).
PROP_CHARACTER = "bodyrig_character"
PROP_JREG = ("bodyrig_jreg_rows", "bodyrig_jreg_cols", "bodyrig_jreg_vals")
SHAPE_PREFIX = "Shape"
POSE_PREFIX = "Pose"
SHAPE_SLIDER = 5.0  # ±5 standard deviations; Blender allows at most ±10


@dataclass
class Character:
    """What build_character made: the armature and mesh objects, their collection, the model and its betas."""

    armature: object
    mesh: object
    collection: object
    data: object = None
    betas: np.ndarray | None = None


def character_of(obj) -> Character:
    """A Character from a Character, its armature or its mesh object (for functions that accept either)."""
    if isinstance(obj, Character):
        return obj
    arm = obj
    if obj.type == "MESH":
        arm = obj.parent if obj.parent is not None and obj.parent.type == "ARMATURE" else None
        if arm is None:
            arm = next((m.object for m in obj.modifiers if m.type == "ARMATURE" and m.object), None)
    if arm is None or arm.type != "ARMATURE":
        from ..inference.errors import BadInputError

        raise BadInputError(f"'{obj.name}' is not a BodyRig character (select its armature or mesh)")
    mesh = next((c for c in arm.children if c.type == "MESH"
                 and any(m.type == "ARMATURE" and m.object == arm for m in c.modifiers)), None)
    return Character(armature=arm, mesh=mesh, collection=arm.users_collection[0] if arm.users_collection else None)


def _bone_lengths(joints):
    """Display length per bone: half the distance to the first child (leaves: 5 cm), clamped to 2–15 cm."""
    lengths = np.full(NUM_JOINTS, 0.05)
    for j in range(NUM_JOINTS):
        kids = [c for c in range(NUM_JOINTS) if SMPL_PARENTS[c] == j]
        if kids:
            lengths[j] = 0.5 * np.linalg.norm(joints[kids[0]] - joints[j])
    return np.clip(lengths, 0.02, 0.15)


def _edit_armature(arm_obj):
    """Enter edit mode on `arm_obj` (it must be in the view layer); returns a callable that leaves it."""
    view_layer = bpy.context.view_layer
    previous = view_layer.objects.active
    view_layer.objects.active = arm_obj
    bpy.ops.object.mode_set(mode="EDIT")

    def leave():
        bpy.ops.object.mode_set(mode="OBJECT")
        view_layer.objects.active = previous if previous is not None else arm_obj

    return leave


def set_rest_joints(arm_obj, joints) -> None:
    """Put the bones' heads at `joints` [24,3] (body frame), tails straight along +Y, roll 0 (one edit-mode pass)."""
    joints = np.asarray(joints, dtype=np.float64)
    lengths = _bone_lengths(joints)
    leave = _edit_armature(arm_obj)
    try:
        ebones = arm_obj.data.edit_bones
        for j, name in enumerate(SMPL_JOINT_NAMES):
            eb = ebones.get(name) or ebones.new(name)
            eb.head = joints[j]
            eb.tail = joints[j] + np.array([0.0, lengths[j], 0.0])
            eb.roll = 0.0
            eb.use_connect = False
            eb.use_deform = True
            eb.parent = ebones.get(SMPL_JOINT_NAMES[SMPL_PARENTS[j]]) if SMPL_PARENTS[j] >= 0 else None
    finally:
        leave()


def write_vertex_groups(mesh_obj, weights) -> None:
    """One vertex group per SMPL joint from weights [V,24]; vertices sharing a weight are added in one call (no per-vertex loop)."""
    for j, name in enumerate(SMPL_JOINT_NAMES):
        vg = mesh_obj.vertex_groups.new(name=name)
        col = weights[:, j].astype(np.float32)
        nz = np.flatnonzero(col)
        if nz.size == 0:
            continue
        values, inverse = np.unique(col[nz], return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(values) + 1))
        for k, w in enumerate(values):
            vg.add(nz[order[bounds[k]:bounds[k + 1]]].tolist(), float(w), "REPLACE")


def _build_mesh(name, data, verts) -> object:
    mesh = bpy.data.meshes.new(name)
    nv, nf = len(verts), len(data.f)
    mesh.vertices.add(nv)
    mesh.vertices.foreach_set("co", verts.astype(np.float32).ravel())
    mesh.loops.add(3 * nf)
    mesh.loops.foreach_set("vertex_index", data.f.astype(np.int32).ravel())
    mesh.polygons.add(nf)
    mesh.polygons.foreach_set("loop_start", np.arange(0, 3 * nf, 3, dtype=np.int32))
    mesh.update(calc_edges=True)
    if data.vt is not None and data.ft is not None and len(data.ft) == nf:
        uv = mesh.uv_layers.new(name="UVMap")
        uv.data.foreach_set("uv", data.vt[data.ft].astype(np.float32).ravel())
    if hasattr(mesh, "shade_smooth"):
        mesh.shade_smooth()
    else:  # Blender < 4.1
        mesh.polygons.foreach_set("use_smooth", np.ones(nf, dtype=bool))
    mesh.validate(clean_customdata=False)
    return mesh


def _add_key(mesh_obj, name, co, lo, hi, value=0.0):
    key = mesh_obj.shape_key_add(name=name, from_mix=False)
    key.data.foreach_set("co", co.astype(np.float32).ravel())
    key.slider_min, key.slider_max = lo, hi
    key.value = value
    return key


def _add_shape_keys(mesh_obj, data, basis, betas) -> None:
    b = data.padded_betas(betas)
    for k in range(data.num_betas):
        r = float(min(10.0, max(SHAPE_SLIDER, math.ceil(abs(b[k])))))
        _add_key(mesh_obj, f"{SHAPE_PREFIX}{k:03d}", basis + data.shapedirs[:, :, k], -r, r, float(b[k]))


# (R - I)[a, b] from a quaternion (w, x, y, z), divided by |q|² so unnormalised quaternions are still right.
_R_MINUS_I = (
    ("-2*(y*y+z*z)", "2*(x*y-w*z)", "2*(x*z+w*y)"),
    ("2*(x*y+w*z)", "-2*(x*x+z*z)", "2*(y*z-w*x)"),
    ("2*(x*z-w*y)", "2*(y*z+w*x)", "-2*(x*x+y*y)"),
)


def _add_pose_correctives(mesh_obj, arm_obj, data, basis) -> None:
    """Keys Pose000…Pose206 (= 9(j−1)+3a+b), each driven by (R_j − I)[a, b] of pose bone j (simple expressions)."""
    for p in range(data.posedirs.shape[2]):
        j, a, b = p // 9 + 1, (p % 9) // 3, p % 3
        key = _add_key(mesh_obj, f"{POSE_PREFIX}{p:03d}", basis + data.posedirs[:, :, p], -2.0, 2.0)
        drv = key.driver_add("value").driver
        drv.type = "SCRIPTED"
        for i, var_name in enumerate("wxyz"):
            var = drv.variables.new()
            var.name, var.type = var_name, "SINGLE_PROP"
            var.targets[0].id_type = "OBJECT"
            var.targets[0].id = arm_obj
            var.targets[0].data_path = f'pose.bones["{SMPL_JOINT_NAMES[j]}"].rotation_quaternion[{i}]'
        drv.expression = f"({_R_MINUS_I[a][b]})/(w*w+x*x+y*y+z*z)"


def _store_regressor(arm_obj, data) -> None:
    """Keep J_regressor (sparse) on the armature object so update_joints works from a saved .blend."""
    rows, cols = np.nonzero(data.J_regressor)
    arm_obj[PROP_JREG[0]] = rows.astype(np.int32).tolist()
    arm_obj[PROP_JREG[1]] = cols.astype(np.int32).tolist()
    arm_obj[PROP_JREG[2]] = data.J_regressor[rows, cols].tolist()


def load_regressor(arm_obj, num_vertices: int) -> np.ndarray:
    """The dense J_regressor [24,V] stored by build_character."""
    reg = np.zeros((NUM_JOINTS, num_vertices))
    rows, cols, vals = (np.asarray(arm_obj[k]) for k in PROP_JREG)
    reg[rows, cols] = vals
    return reg


def build_character(data, betas=None, name: str = "BodyRig", shape_keys: bool = False,
                    collection=None) -> Character:
    """Build the armature + skinned mesh of `data` (BodyModelData) with shape `betas` [K'] (None: zeros).

    The two objects go into a new collection named `name`, created inside `collection` (default: the scene's
    master collection). See the module docstring for the bone and axis conventions.
    """
    betas = None if betas is None else np.asarray(betas, dtype=np.float64).ravel()
    shaped, joints = data.shaped(betas)  # raises BadInputError for too many betas, before anything is made
    parent = collection or bpy.context.scene.collection
    coll = bpy.data.collections.new(name)
    parent.children.link(coll)

    arm_obj = bpy.data.objects.new(name, bpy.data.armatures.new(f"{name}Armature"))
    arm_obj.rotation_mode = "XYZ"
    arm_obj.rotation_euler = (math.pi / 2, 0.0, 0.0)  # body Y-up → Blender Z-up, the only axis change
    arm_obj.data.display_type = "STICK"
    arm_obj[PROP_CHARACTER] = 1
    coll.objects.link(arm_obj)
    set_rest_joints(arm_obj, joints)
    for pb in arm_obj.pose.bones:
        pb.rotation_mode = "QUATERNION"
    _store_regressor(arm_obj, data)

    mesh_obj = bpy.data.objects.new(f"{name}Mesh",
                                    _build_mesh(f"{name}Mesh", data, data.v_template if shape_keys else shaped))
    coll.objects.link(mesh_obj)
    mesh_obj.parent = arm_obj  # identity parent inverse: mesh local coordinates = body frame
    write_vertex_groups(mesh_obj, data.weights)
    mod = mesh_obj.modifiers.new("Armature", "ARMATURE")
    mod.object = arm_obj
    mod.use_vertex_groups, mod.use_bone_envelopes = True, False
    mod.use_deform_preserve_volume = False  # linear blend skinning, as SMPL
    if shape_keys or data.has_pose_correctives:
        mesh_obj.shape_key_add(name="Basis", from_mix=False)
        basis = data.v_template if shape_keys else shaped
        if shape_keys:
            _add_shape_keys(mesh_obj, data, basis, betas)
        if data.has_pose_correctives:
            _add_pose_correctives(mesh_obj, arm_obj, data, basis)
    return Character(armature=arm_obj, mesh=mesh_obj, collection=coll, data=data,
                     betas=np.zeros(data.num_betas) if betas is None else betas)
