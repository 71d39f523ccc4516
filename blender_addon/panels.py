"""The "BodyRig" tab of the 3D view's sidebar (N panel): imports, the selected character, export, set-up."""

from __future__ import annotations

import bpy

from .installer import missing_requirements
from .retarget_panel import CLASSES as _RETARGET_CLASSES


def _is_character(obj) -> bool:
    if obj is None:
        return False
    arm = obj if obj.type == "ARMATURE" else obj.parent
    return arm is not None and arm.type == "ARMATURE" and "bodyrig_character" in arm.keys()


class _SidebarPanel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "BodyRig"


class BODYRIG_PT_import(_SidebarPanel, bpy.types.Panel):
    bl_label = "Create"
    bl_idname = "BODYRIG_PT_import"

    def draw(self, context):
        layout = self.layout
        missing = missing_requirements()
        if missing:
            layout.label(text=f"Missing: {', '.join(missing)}", icon="ERROR")
            layout.label(text="Install them in Preferences > Add-ons > BodyRig")
        col = layout.column(align=True)
        col.operator("bodyrig.import_photo", text="Character from Photo", icon="IMAGE_DATA")
        col.operator("bodyrig.import_video", text="Animation from Video", icon="FILE_MOVIE")
        col.operator("bodyrig.import_motion", text="Motion File (.npz/.smpl)", icon="ANIM")
        col.operator("bodyrig.import_pifu", text="Clothed Mesh (PIFu)", icon="MATCLOTH")


class BODYRIG_PT_character(_SidebarPanel, bpy.types.Panel):
    bl_label = "Character"
    bl_idname = "BODYRIG_PT_character"

    def draw(self, context):
        layout = self.layout
        obj = context.active_object
        if not _is_character(obj):
            layout.label(text="Select a BodyRig character", icon="INFO")
            return
        arm = obj if obj.type == "ARMATURE" else obj.parent
        layout.label(text=arm.name, icon="ARMATURE_DATA")
        action = arm.animation_data.action if arm.animation_data else None
        if action is not None:
            start, end = action.frame_range
            layout.label(text=f"Animation: frames {start:g}–{end:g}", icon="ACTION")
        layout.operator("bodyrig.import_motion", text="Apply Motion File", icon="ANIM").target = "SELECTED"
        layout.operator("bodyrig.update_joints", icon="BONE_DATA")


class BODYRIG_PT_export(_SidebarPanel, bpy.types.Panel):
    bl_label = "Export"
    bl_idname = "BODYRIG_PT_export"

    def draw(self, context):
        layout = self.layout
        layout.enabled = _is_character(context.active_object)
        col = layout.column(align=True)
        for fmt, text in (("FBX", "FBX"), ("GLB", "glTF Binary"), ("BVH", "BVH"), ("NPZ", "Motion .npz")):
            col.operator("bodyrig.export", text=text, icon="EXPORT").format = fmt


CLASSES = (BODYRIG_PT_import, BODYRIG_PT_character, BODYRIG_PT_export, *_RETARGET_CLASSES)
