"""Blender API differences between 4.2 and 5.0 that BodyRig touches, hidden behind a few functions.

Animation data: Blender 4.4 introduced layered ("slotted") Actions, whose f-curves live in a channelbag
(action → layer → keyframe strip → channelbag for one slot); Blender 5.0 removed the legacy `action.fcurves`.
Everything that creates or reads f-curves goes through `new_action`, `fcurves_new` and `action_fcurves` so the
rest of the code never branches on the version.
"""

from __future__ import annotations

import bpy

# RNA properties are not Python class attributes: ask bl_rna.
_LAYERED = "layers" in bpy.types.Action.bl_rna.properties and "slots" in bpy.types.Action.bl_rna.properties


def is_layered() -> bool:
    """True on Blender ≥ 4.4 (slotted actions), False on 4.2/4.3 (legacy action.fcurves)."""
    return _LAYERED


def new_action(obj, name: str):
    """A new, empty Action assigned to `obj` (any ID: an object, a camera's data...; its slot too on layered
    Blender). Returns the Action."""
    action = bpy.data.actions.new(name)
    anim = obj.animation_data or obj.animation_data_create()
    if _LAYERED:
        slot = action.slots.new(id_type=obj.id_type, name=obj.name)
        layer = action.layers.new("Layer")
        layer.strips.new(type="KEYFRAME").channelbag(slot, ensure=True)
        anim.action = action
        anim.action_slot = slot
    else:
        anim.action = action
    return action


def _channelbag(action, obj, ensure: bool):
    slot = None
    if obj is not None and obj.animation_data is not None and obj.animation_data.action == action:
        slot = obj.animation_data.action_slot
    if slot is None:
        if not action.slots:
            if not ensure:
                return None
            slot = action.slots.new(id_type=obj.id_type if obj else "OBJECT", name=obj.name if obj else "Object")
        else:
            slot = action.slots[0]
    if not action.layers:
        if not ensure:
            return None
        action.layers.new("Layer").strips.new(type="KEYFRAME")
    strip = action.layers[0].strips[0]
    return strip.channelbag(slot, ensure=ensure)


def fcurves_new(action, obj, data_path: str, index: int = 0, group: str = ""):
    """Create one f-curve in `action` (for `obj`'s slot on layered Blender) in the channel group `group`."""
    if _LAYERED:
        return _channelbag(action, obj, ensure=True).fcurves.new(data_path, index=index, group_name=group)
    return action.fcurves.new(data_path, index=index, action_group=group)


def action_fcurves(action, obj=None):
    """The f-curves of `action` (for `obj`'s slot, else the first slot); an empty list when there are none."""
    if action is None:
        return []
    if _LAYERED:
        bag = _channelbag(action, obj, ensure=False)
        return list(bag.fcurves) if bag is not None else []
    return list(action.fcurves)


def find_fcurve(action, obj, data_path: str, index: int = 0):
    """The f-curve for (data_path, index) or None."""
    for fc in action_fcurves(action, obj):
        if fc.data_path == data_path and fc.array_index == index:
            return fc
    return None
