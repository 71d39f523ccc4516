"""The sidebar's "Retarget" panel (tab BodyRig): source and target, the bone map table, Retarget."""

from __future__ import annotations

import bpy


class BODYRIG_UL_bone_map(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index=0):
        settings = context.scene.bodyrig_retarget
        row = layout.row(align=True)
        row.label(text=item.role)
        if settings.target is not None and "," not in item.bones and item.role not in ("spine", "neck"):
            row.prop_search(item, "bones", settings.target.data, "bones", text="")
        else:
            row.prop(item, "bones", text="")


class BODYRIG_PT_retarget(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "BodyRig"
    bl_label = "Retarget"
    bl_idname = "BODYRIG_PT_retarget"

    def draw(self, context):
        from ..operators.retarget_ops import table_json

        layout = self.layout
        settings = context.scene.bodyrig_retarget
        layout.prop(settings, "source")
        layout.prop(settings, "target")
        row = layout.row(align=True)
        row.prop(settings, "preset", text="")
        row.operator("bodyrig.retarget_detect", text="Detect", icon="VIEWZOOM")
        if settings.rows:
            layout.template_list("BODYRIG_UL_bone_map", "", settings, "rows", settings, "row_index", rows=6)
        if settings.status:
            layout.label(text=settings.status, icon="INFO")
        row = layout.row(align=True)
        row.operator("bodyrig.retarget_load_map", text="Load", icon="FILE_FOLDER")
        row.operator("bodyrig.retarget_save_map", text="Save", icon="FILE_TICK")
        row = layout.row(align=True)
        row.prop(settings, "in_place")
        row.prop(settings, "foot_lock")
        col = layout.column()
        col.enabled = settings.source is not None and settings.target is not None
        op = col.operator("bodyrig.retarget", text="Retarget", icon="ARMATURE_DATA")
        if settings.source is not None and settings.target is not None:
            op.source, op.target = settings.source.name, settings.target.name
            op.in_place, op.foot_lock = settings.in_place, settings.foot_lock
            if settings.rows:
                op.preset, op.map_json = "CUSTOM", table_json(settings)
            else:
                op.preset = settings.preset


CLASSES = (BODYRIG_UL_bone_map, BODYRIG_PT_retarget)
