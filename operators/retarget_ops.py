"""`bodyrig.retarget` and the bone-map editor's operators (detect, load and save a preset file).

The editor's table lives on the scene (`scene.bodyrig_retarget`, a RetargetSettings): one row per role with
its bone names (chains comma-separated). The sidebar panel (blender_addon/retarget_panel.py) shows it and runs
`bodyrig.retarget` with preset 'CUSTOM' and the table as `map_json`, so the operator itself needs no scene state.
"""

from __future__ import annotations

import json

import bpy
from bpy.props import BoolProperty, CollectionProperty, EnumProperty, IntProperty, PointerProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..inference.retarget import bonemap
from ..inference.retarget.roles import ROLES

from .staging import report_failure, run_staged


def _preset_items():
    items = [("AUTO", "Auto", "Recognise the rig by its bone names")]
    for pid in bonemap.preset_ids():
        p = bonemap.load_preset(pid)
        items.append((pid.upper(), p.name, p.description))
    return items


PRESET_ITEMS = _preset_items()
OPERATOR_PRESET_ITEMS = PRESET_ITEMS + [("CUSTOM", "Custom", "The bone map given in map_json")]


def _is_armature(self, obj):
    return obj.type == "ARMATURE"


class BodyRigRetargetRow(bpy.types.PropertyGroup):
    role: StringProperty(name="Role")
    bones: StringProperty(name="Bones", description="The target's bone for this role (chains: comma-separated)")


class BodyRigRetargetSettings(bpy.types.PropertyGroup):
    source: PointerProperty(name="Source", type=bpy.types.Object, poll=_is_armature,
                            description="The BodyRig armature whose motion is retargeted")
    target: PointerProperty(name="Target", type=bpy.types.Object, poll=_is_armature,
                            description="The armature to drive")
    preset: EnumProperty(name="Preset", items=PRESET_ITEMS, default="AUTO")
    in_place: BoolProperty(name="In Place", description="No root travel along the floor")
    foot_lock: BoolProperty(name="Lock Feet", default=True,
                            description="Keep the source's planted feet planted (IK baked to keys)")
    rows: CollectionProperty(type=BodyRigRetargetRow)
    row_index: IntProperty()
    status: StringProperty(name="Status")


def table_json(settings) -> str:
    """The editor's table as a preset-file JSON string."""
    bones = {r.role: [n.strip() for n in r.bones.split(",") if n.strip()] for r in settings.rows}
    return json.dumps({"name": "custom", "bones": {k: v for k, v in bones.items() if v}})


def fill_table(settings, bone_map) -> None:
    settings.rows.clear()
    for role in ROLES:
        row = settings.rows.add()
        row.role = role
        row.bones = ", ".join(bone_map.bones.get(role, ()))
    missing = bone_map.unmapped
    settings.status = f"{bone_map.preset}: " + (f"not mapped: {', '.join(missing)}" if missing else "every role mapped")


class BODYRIG_OT_retarget(bpy.types.Operator):
    """Retarget a BodyRig motion onto another armature (Mixamo, Rigify, Unreal/MetaHuman, any humanoid)"""

    bl_idname = "bodyrig.retarget"
    bl_label = "Retarget Motion"
    bl_options = {"REGISTER", "UNDO"}

    source: StringProperty(name="Source", description="The BodyRig armature object's name (empty: the selected one)")
    target: StringProperty(name="Target", description="The armature object to drive (empty: the active or other "
                                                       "selected armature)")
    preset: EnumProperty(name="Preset", items=OPERATOR_PRESET_ITEMS, default="AUTO")
    map_json: StringProperty(name="Bone Map", options={"HIDDEN", "SKIP_SAVE"},
                             description="With preset CUSTOM: a preset file's JSON ({\"bones\": {role: [names]}})")
    in_place: BoolProperty(name="In Place", description="No root travel along the floor")
    foot_lock: BoolProperty(name="Lock Feet", description="Keep the source's planted feet planted (IK baked to keys)")
    frame_start: IntProperty(name="Start", default=0, description="First frame (with End below Start: the source's range)")
    frame_end: IntProperty(name="End", default=-1, description="Last frame; below Start: the source action's range")

    def _from_selection(self, context):
        """Left empty (a menu call): the selected BodyRig character drives the other selected or active armature."""
        from .rig import PROP_CHARACTER

        arms = [o for o in context.selected_objects if o.type == "ARMATURE"]
        if not self.source:
            self.source = next((o.name for o in arms if PROP_CHARACTER in o.keys()), "")
        if not self.target:
            active = context.active_object
            others = [o for o in arms if o.name != self.source]
            pick = active if active in others else (others[0] if others else None)
            self.target = pick.name if pick is not None else ""

    def execute(self, context):
        from ..inference.errors import BadInputError

        from .retarget import armature, retarget_action

        self._from_selection(context)

        def build():
            src = armature(self.source, "source")
            tgt = armature(self.target, "target")
            map_data = None
            if self.preset == "CUSTOM":
                try:
                    map_data = json.loads(self.map_json or "")
                except ValueError as e:
                    raise BadInputError(f"the bone map is not valid JSON: {e}") from e
            use_range = self.frame_end >= self.frame_start
            action, bone_map = retarget_action(
                src, tgt, preset=self.preset, map_data=map_data, in_place=self.in_place, foot_lock=self.foot_lock,
                frame_start=self.frame_start if use_range else None, frame_end=self.frame_end if use_range else None)
            missing = bone_map.unmapped
            level = {"WARNING"} if missing else {"INFO"}
            self.report(level, f"BodyRig: retargeted onto {tgt.name} as '{action.name}' ({bone_map.preset})"
                               + (f"; not mapped: {', '.join(missing)}" if missing else ""))
            return {"FINISHED"}

        return run_staged(self, context, build)


class BODYRIG_OT_retarget_detect(bpy.types.Operator):
    """Fill the bone map from the chosen preset (Auto: recognised from the target's bone names)"""

    bl_idname = "bodyrig.retarget_detect"
    bl_label = "Detect Bone Map"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        from .retarget import bone_map_for

        settings = context.scene.bodyrig_retarget
        try:
            if settings.target is None:
                from ..inference.errors import BadInputError

                raise BadInputError("pick the target armature first")
            fill_table(settings, bone_map_for(settings.target, settings.preset))
        except Exception as exc:
            return report_failure(self, exc)
        self.report({"INFO"}, settings.status)
        return {"FINISHED"}


class BODYRIG_OT_retarget_save_map(bpy.types.Operator, ExportHelper):
    """Save the bone map as a preset file (.json)"""

    bl_idname = "bodyrig.retarget_save_map"
    bl_label = "Save Bone Map"
    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def execute(self, context):
        try:
            m = bonemap.bone_map_from_json(json.loads(table_json(context.scene.bodyrig_retarget)))
            path = bonemap.save_bone_map(m, bpy.path.abspath(self.filepath))
        except Exception as exc:
            return report_failure(self, exc)
        self.report({"INFO"}, f"BodyRig: bone map saved to {path}")
        return {"FINISHED"}


class BODYRIG_OT_retarget_load_map(bpy.types.Operator, ImportHelper):
    """Load a bone-map preset file (.json) for the target"""

    bl_idname = "bodyrig.retarget_load_map"
    bl_label = "Load Bone Map"
    bl_options = {"REGISTER", "UNDO"}
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def execute(self, context):
        settings = context.scene.bodyrig_retarget
        try:
            names = [b.name for b in settings.target.data.bones] if settings.target else []
            fill_table(settings, bonemap.resolve(bpy.path.abspath(self.filepath), names))
        except Exception as exc:
            return report_failure(self, exc)
        self.report({"INFO"}, settings.status)
        return {"FINISHED"}


CLASSES = (BodyRigRetargetRow, BodyRigRetargetSettings, BODYRIG_OT_retarget, BODYRIG_OT_retarget_detect,
           BODYRIG_OT_retarget_save_map, BODYRIG_OT_retarget_load_map)


def register_properties() -> None:
    bpy.types.Scene.bodyrig_retarget = PointerProperty(type=BodyRigRetargetSettings)


def unregister_properties() -> None:
    del bpy.types.Scene.bodyrig_retarget
