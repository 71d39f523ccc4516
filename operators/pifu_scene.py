"""A PIFu clothed mesh in Blender: placed over the fitted body and (optionally) bound to its rig.

Frames (inference/results.py has the rules): PIFu's box (x right, y up, z toward the camera, orthographic,
1 unit = half the crop side) → the photo's camera frame (OpenCV, metres) → world = R_x(π)·camera, which is
the armature's local frame for a character built by photo_scene.character_from_fit. The clothed mesh is
parented to the armature with an identity transform, like the body mesh, so its local coordinates ARE world
coordinates and the armature object's +90° turn brings it to Blender's Z up.

Binding (numpy for the maths, bpy only to write): every clothed vertex takes the skinning weights of the
closest point on the body surface at the SAME (fitted) pose, interpolated barycentrically; its rest position is
the inverse of its blended bone transform applied to where it was placed, so the Armature modifier gives back
exactly the placed mesh at the fitted pose and carries it with the body at any other pose.
"""

from __future__ import annotations

import numpy as np

from ..inference.results import CAMERA_TO_WORLD

COLOUR_ATTRIBUTE = "Col"
WEIGHT_STEPS = 1024  # skinning weights are stored in steps of 1/1024 (see quantize_weights)


# --------------------------------------------------------------------------------------------- placement


def body_depth(fit) -> float:
    """Z0: the depth (camera z, metres) at which the PIFu mesh is placed: the mean depth of the fitted joints."""
    return float(np.mean(np.asarray(fit.joints3d, dtype=np.float64)[:24, 2]))


def pifu_to_camera(vertices, crop, fit) -> np.ndarray:
    """PIFu box coordinates [V,3] → the photo's camera frame [V,3] float64 (OpenCV x right, y down, z forward, m).

    1. Image pixel of a box point (PIFu's test calibration flips y: image rows grow downward, box y upward;
       crop.py: the 512 square has top-left `crop.origin` = (x0, y0) and side `crop.side` px):
           u = x0 + (x + 1)/2 · side,    v = y0 + (1 − y)/2 · side.
    2. Depth: PIFu is orthographic, so the mesh is put at the fitted body's depth Z0 = mean(fit.joints3d z)
       and back-projected with the pinhole camera at that one depth (a weak-perspective, shape-preserving map):
           X = (u − cx)·Z0/fx,    Y = (v − cy)·Z0/fy.
    3. Box z (toward the camera) uses the same pixel → metre scale at Z0; toward the camera = smaller depth:
           Z = Z0 − z · (side/2) · Z0/fx.
    The map is a positive scaling composed with R_x(π), so faces keep their outward winding.
    """
    v = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    cam = fit.camera
    fx, fy, cx, cy = (float(cam[k]) for k in ("fx", "fy", "cx", "cy"))
    x0, y0 = (float(c) for c in crop.origin)
    side = float(crop.side)
    z0 = body_depth(fit)
    u = x0 + (v[:, 0] + 1.0) * 0.5 * side
    w = y0 + (1.0 - v[:, 1]) * 0.5 * side
    out = np.empty_like(v)
    out[:, 0] = (u - cx) * z0 / fx
    out[:, 1] = (w - cy) * z0 / fy
    out[:, 2] = z0 - v[:, 2] * 0.5 * side * z0 / fx
    return out


def camera_to_world(points) -> np.ndarray:
    """Camera frame [V,3] → world frame [V,3] (= the rig armature's local frame): R_x(π)."""
    return np.asarray(points, dtype=np.float64) @ CAMERA_TO_WORLD.T


# --------------------------------------------------------------------------------------------- skinning maths


def joint_transforms(pose, rest_joints, transl=None) -> np.ndarray:
    """SMPL's skinning transforms A_j = G_j · T(−J_j), then + transl: pose [24,3] axis-angle, rest_joints
    [24,3], transl [3] → [24,4,4] float64. LBS: v' = Σ_j w_j A_j v (weights summing to 1)."""
    import torch
    from smplx.lbs import batch_rigid_transform

    from ..inference.body.skeleton import SMPL_PARENTS
    from ..inference.rotations import axis_angle_to_matrix

    rots = axis_angle_to_matrix(torch.as_tensor(np.reshape(pose, (1, 24, 3)), dtype=torch.float64))
    joints = torch.as_tensor(np.reshape(rest_joints, (1, 24, 3)), dtype=torch.float64)
    _, rel = batch_rigid_transform(rots, joints, torch.tensor(SMPL_PARENTS), dtype=torch.float64)
    a = rel[0].numpy()
    if transl is not None:
        a[:, :3, 3] += np.asarray(transl, dtype=np.float64).reshape(3)
    return a


def closest_points_on_mesh(points, vertices, faces, k: int = 4):
    """For each point [N,3], the closest point on the triangle mesh (vertices [V,3], faces [F,3]).

    Candidates: the triangles around the point's k nearest mesh vertices (a cKDTree). Returns
    (face index [N] int64, barycentric [N,3], closest point [N,3], distance [N]).
    """
    from scipy.spatial import cKDTree

    pts = np.asarray(points, dtype=np.float64)
    verts = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    # Vertex → incident faces, padded with -1 to the largest valence.
    order = np.argsort(faces.ravel(), kind="stable")
    owners = faces.ravel()[order]
    counts = np.bincount(owners, minlength=len(verts))
    valence = int(counts.max()) if len(counts) else 0
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(len(owners)) - starts[owners]
    incident = np.full((len(verts), valence), -1, dtype=np.int64)
    incident[owners, slot] = order // 3

    k = min(k, len(verts))
    _, near = cKDTree(verts).query(pts, k=k)
    near = near.reshape(len(pts), k)
    cand = incident[near].reshape(len(pts), -1)  # [N, k·valence], -1 = padding

    best_d = np.full(len(pts), np.inf)
    best_f = np.zeros(len(pts), dtype=np.int64)
    best_b = np.zeros((len(pts), 3))
    # The same triangle is often a candidate of several of the k vertices: test each one once per point.
    cand = np.sort(cand, axis=1)
    cand[:, 1:][cand[:, 1:] == cand[:, :-1]] = -1
    for c in range(cand.shape[1]):
        rows = np.flatnonzero(cand[:, c] >= 0)
        if rows.size == 0:
            continue
        f = cand[rows, c]
        tri = verts[faces[f]]
        p = pts[rows]
        bary = _closest_barycentric(p, tri[:, 0], tri[:, 1], tri[:, 2])
        d = np.linalg.norm(p - np.einsum("ni,nia->na", bary, tri), axis=1)
        better = d < best_d[rows]
        r = rows[better]
        best_d[r], best_f[r], best_b[r] = d[better], f[better], bary[better]
    closest = np.einsum("ni,nia->na", best_b, verts[faces[best_f]])
    return best_f, best_b, closest, best_d


def _closest_barycentric(p, a, b, c) -> np.ndarray:
    """Barycentric coordinates [N,3] of the closest point to p on triangles (a, b, c), all [N,3] (Ericson,
    Real-Time Collision Detection §5.1.5, vectorised: the Voronoi region decides the formula)."""
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = _dot(ab, ap), _dot(ac, ap)
    bp = p - b
    d3, d4 = _dot(ab, bp), _dot(ac, bp)
    cp = p - c
    d5, d6 = _dot(ab, cp), _dot(ac, cp)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    out = np.empty((len(p), 3))
    # Interior (the default); the regions below overwrite it, from the least to the most specific.
    denom = va + vb + vc
    denom = np.where(np.abs(denom) < 1e-30, 1e-30, denom)
    out[:] = np.stack([va, vb, vc], 1) / denom[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        # Edge BC.
        w = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        m = (va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0)
        out[m] = np.stack([np.zeros(m.sum()), 1 - w[m], w[m]], 1)
        # Edge AC.
        w = d2 / (d2 - d6)
        m = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
        out[m] = np.stack([1 - w[m], np.zeros(m.sum()), w[m]], 1)
        # Edge AB.
        w = d1 / (d1 - d3)
        m = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
        out[m] = np.stack([1 - w[m], w[m], np.zeros(m.sum())], 1)
    # Vertex regions.
    out[(d6 >= 0) & (d5 <= d6)] = (0.0, 0.0, 1.0)
    out[(d3 >= 0) & (d4 <= d3)] = (0.0, 1.0, 0.0)
    out[(d1 <= 0) & (d2 <= 0)] = (1.0, 0.0, 0.0)
    return np.nan_to_num(out, nan=1.0 / 3.0)


def _dot(a, b):
    return np.einsum("na,na->n", a, b)


def transfer_weights(points, body_vertices, faces, body_weights) -> np.ndarray:
    """Skinning weights [N,24] for points [N,3]: the body weights [V,24] interpolated at the closest point of
    the body surface (body_vertices [V,3] at the same pose as the points), renormalised to sum to 1."""
    f, bary, _, _ = closest_points_on_mesh(points, body_vertices, faces)
    w = np.einsum("ni,nij->nj", bary, np.asarray(body_weights, dtype=np.float64)[np.asarray(faces)[f]])
    w = np.clip(w, 0.0, None)
    return w / np.maximum(w.sum(1, keepdims=True), 1e-12)


def quantize_weights(weights, steps: int = WEIGHT_STEPS) -> np.ndarray:
    """Weights [N,J] rounded to multiples of 1/steps, renormalised to sum to 1 → [N,J] float64.

    Vertex groups can only be written one weight value at a time (VertexGroup.add), so few distinct values
    keep the write fast; unposing with exactly these weights (Blender normalises them the same way) keeps the
    fitted pose exact."""
    w = np.round(np.asarray(weights, dtype=np.float64) * steps) / steps
    empty = w.sum(1) <= 0
    if empty.any():  # every weight rounded away: keep the largest one
        w[empty, np.argmax(weights[empty], 1)] = 1.0
    return w / w.sum(1, keepdims=True)


def unpose(points, weights, transforms) -> np.ndarray:
    """Rest positions [N,3] of posed points [N,3] under LBS: inverse of Σ_j w_j A_j (weights [N,24],
    transforms [24,4,4]) applied to each point, so that LBS(rest) = points exactly."""
    m = np.einsum("nj,jab->nab", np.asarray(weights, dtype=np.float64), transforms)
    rhs = np.asarray(points, dtype=np.float64) - m[:, :3, 3]
    return np.linalg.solve(m[:, :3, :3], rhs[..., None])[..., 0]


# --------------------------------------------------------------------------------------------- Blender


def _posed_body(character, data, betas, pose, transl):
    """(rest_joints [24,3], body vertices [V,3] at pose [24,3] / transl [3]) in the armature's local frame.
    Rest joints come from the bones' heads (what the Armature modifier uses)."""
    import torch

    from ..inference.body import BodyModel
    from ..inference.body.skeleton import SMPL_JOINT_NAMES

    bones = character.armature.data.bones
    rest_joints = np.array([bones[n].head_local for n in SMPL_JOINT_NAMES], dtype=np.float64)
    b = data.padded_betas(None if betas is None else np.asarray(betas).reshape(-1)[: data.num_betas])
    out = BodyModel(data, dtype=torch.float64).forward(pose[None], b[None], transl[None])
    return rest_joints, out.vertices[0].numpy()


def bind_to_body(points, character, data, pose, transl, betas=None):
    """(rest positions [N,3], weights [N,24]) binding `points` [N,3] (armature local frame, placed over the body
    at pose [24,3] / transl [3], e.g. BodyFit.world()) to the body surface of `character` at that pose."""
    pose = np.asarray(pose, dtype=np.float64).reshape(24, 3)
    transl = np.asarray(transl, dtype=np.float64).reshape(3)
    rest_joints, body = _posed_body(character, data, betas, pose, transl)
    weights = quantize_weights(transfer_weights(points, body, data.f, data.weights))
    rest = unpose(points, weights, joint_transforms(pose, rest_joints, transl))
    return rest, weights


def _colour_material(name: str, has_colours: bool):
    """A material whose Base Color reads the mesh's colour attribute (or a plain cloth grey without one)."""
    import bpy

    mat = bpy.data.materials.new(name)
    if hasattr(mat, "use_nodes") and not mat.use_nodes:  # always on from Blender 5.0
        mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = next(n for n in nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
    bsdf.inputs["Roughness"].default_value = 0.8
    if has_colours:
        attr = nodes.new("ShaderNodeVertexColor")  # "Color Attribute" node
        attr.layer_name = COLOUR_ATTRIBUTE
        attr.location = (bsdf.location[0] - 250, bsdf.location[1])
        links.new(attr.outputs["Color"], bsdf.inputs["Base Color"])
    else:
        bsdf.inputs["Base Color"].default_value = (0.55, 0.5, 0.45, 1.0)
    return mat


def _mesh_from_arrays(name, vertices, faces, colours):
    import bpy

    mesh = bpy.data.meshes.new(name)
    nv, nf = len(vertices), len(faces)
    mesh.vertices.add(nv)
    mesh.vertices.foreach_set("co", np.asarray(vertices, np.float32).ravel())
    mesh.loops.add(3 * nf)
    mesh.loops.foreach_set("vertex_index", np.asarray(faces, np.int32).ravel())
    mesh.polygons.add(nf)
    mesh.polygons.foreach_set("loop_start", np.arange(0, 3 * nf, 3, dtype=np.int32))
    mesh.update(calc_edges=True)
    if colours is not None:
        attr = mesh.color_attributes.new(COLOUR_ATTRIBUTE, "BYTE_COLOR", "POINT")
        rgba = np.ones((nv, 4), np.float32)
        rgba[:, :3] = np.clip(np.asarray(colours, np.float32).reshape(nv, 3), 0.0, 1.0)
        attr.data.foreach_set("color_srgb", rgba.ravel())  # PIFu's colours are the photo's (sRGB) values
        mesh.color_attributes.active_color = attr
    if hasattr(mesh, "shade_smooth"):
        mesh.shade_smooth()
    mesh.validate(clean_customdata=False)
    return mesh


def import_pifu_mesh(pifu_mesh, fit, character=None, name: str = "Clothed", bind: bool = True, data=None):
    """Bring a PIFu mesh (inference.pifu.reconstruct.PifuMesh) into the scene over the fitted body → the object.

    fit: the BodyFit of the same photo. character: a Character / its armature / its mesh, posed at the fit
    (photo_scene.character_from_fit); None builds one from `fit` (body model `data`, default load_body of
    fit.body_model). The object is parented to the armature with an identity transform, lives in the
    character's collection, has the PIFu colours as the colour attribute 'Col' read by its material, and with
    `bind` vertex groups + an Armature modifier whose result at the fitted pose is where it was placed.
    Raises BadInputError when the mesh is empty.
    """
    import bpy

    from ..inference.errors import BadInputError

    from .rig import Character, character_of, write_vertex_groups

    verts = np.asarray(pifu_mesh.vertices, dtype=np.float64)
    faces = np.asarray(pifu_mesh.faces, dtype=np.int64)
    if verts.ndim != 2 or verts.shape[1] != 3 or len(verts) == 0 or len(faces) == 0:
        raise BadInputError("the PIFu mesh is empty: nothing to import")
    if data is None and isinstance(character, Character):
        data = character.data
    if data is None:
        from ..inference.body import load_body

        data = load_body(fit.body_model)
    if character is None:
        from .photo_scene import character_from_fit

        character = character_from_fit(fit, data, name=f"{name}Body", with_camera=False)
    else:
        betas = character.betas if isinstance(character, Character) else None
        character = character_of(character)
        character.data, character.betas = data, betas
    betas = character.betas if character.betas is not None else fit.betas

    placed = camera_to_world(pifu_to_camera(verts, pifu_mesh.crop, fit))
    co = placed
    weights = None
    if bind:
        pose, transl = fit.world()  # the pose the mesh was seen in, whatever the rig shows now
        co, weights = bind_to_body(placed, character, data, pose, transl, betas)
    mesh = _mesh_from_arrays(name, co, faces, pifu_mesh.colours)
    mesh.materials.append(_colour_material(f"{name}Material", pifu_mesh.colours is not None))
    obj = bpy.data.objects.new(name, mesh)
    coll = character.collection or (character.armature.users_collection or [bpy.context.scene.collection])[0]
    coll.objects.link(obj)
    obj.parent = character.armature  # identity parent inverse: local coordinates = armature (world) frame
    if bind:
        write_vertex_groups(obj, weights)
        mod = obj.modifiers.new("Armature", "ARMATURE")
        mod.object = character.armature
        mod.use_vertex_groups, mod.use_bone_envelopes = True, False
        mod.use_deform_preserve_volume = False  # linear blend skinning, as the body
    return obj
