"""File > Import and File > Export entries, and Object > Animation > Retarget BodyRig Motion (appended to Blender's menus, removed again on unregister)."""

from __future__ import annotations

import bpy

IMPORTS = (
    ("bodyrig.import_photo", "BodyRig Character from Photo"),
    ("bodyrig.import_video", "BodyRig Animation from Video"),
    ("bodyrig.import_motion", "BodyRig Motion (.npz, .smpl)"),
    ("bodyrig.import_pifu", "BodyRig Clothed Mesh from Photo (PIFu)"),
)


def draw_import(self, context):
    self.layout.separator()
    for idname, text in IMPORTS:
        self.layout.operator(idname, text=text)


def draw_export(self, context):
    self.layout.operator("bodyrig.export", text="BodyRig Character (.fbx, .glb, .bvh, .npz)")


def draw_animation(self, context):
    self.layout.separator()
    self.layout.operator("bodyrig.retarget", text="Retarget BodyRig Motion")


def add() -> None:
    bpy.types.TOPBAR_MT_file_import.append(draw_import)
    bpy.types.TOPBAR_MT_file_export.append(draw_export)
    bpy.types.VIEW3D_MT_object_animation.append(draw_animation)


def remove() -> None:
    bpy.types.TOPBAR_MT_file_import.remove(draw_import)
    bpy.types.TOPBAR_MT_file_export.remove(draw_export)
    bpy.types.VIEW3D_MT_object_animation.remove(draw_animation)


CLASSES = ()
