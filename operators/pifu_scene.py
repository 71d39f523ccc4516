"""A PIFu clothed mesh in Blender: placed over the fitted body and (optionally) bound to its rig.

The geometry (box → camera → world, closest points, weight transfer, unposing) is inference/pifu/binding.py;
this module writes its results: the mesh, its colours, its vertex groups and Armature modifier. The clothed mesh
is parented to the armature with an identity transform, like the body mesh, so its local coordinates ARE world
coordinates and the armature object's +90° turn brings it to Blender's Z up.
"""

from __future__ import annotations

import numpy as np

COLOUR_ATTRIBUTE = "Col"


# --------------------------------------------------------------------------------------------- Blender


def bind_to_body(points, character, data, pose, transl, betas=None):
    """inference.pifu.binding.bind_points with the rest joints of `character`'s bones (what its Armature
    modifier uses): (rest positions [N,3], weights [N,24]) for `points` [N,3] in the armature's local frame."""
    from ..inference.body.skeleton import SMPL_JOINT_NAMES
    from ..inference.pifu.binding import bind_points

    bones = character.armature.data.bones
    rest_joints = np.array([bones[n].head_local for n in SMPL_JOINT_NAMES], dtype=np.float64)
    return bind_points(points, rest_joints, data, pose, transl, betas)


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

    from ..inference.pifu.binding import camera_to_world, pifu_to_camera

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
