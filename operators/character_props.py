"""What a BodyRig character carries inside the .blend: one registered PropertyGroup on its armature object.

`Object.bodyrig` (BodyRigCharacter): the fitted shape (betas, any length), the body model's label, and the photo's
pinhole camera when the character came from a photo. Every scene builder writes it through `write_character`
(rig.build_character does, so every way of making a character does), the .npz export reads it back through
`read_betas` / `read_body_label`. The extension registers it (operators.register), and build_character does
(idempotent) so scripts and tests that build scenes with PyPI bpy carry it too.
"""

from __future__ import annotations

import bpy
import numpy as np
from bpy.props import BoolProperty, CollectionProperty, FloatProperty, PointerProperty, StringProperty

CAMERA_FIELDS = ("fx", "fy", "cx", "cy", "width", "height")


class BodyRigBeta(bpy.types.PropertyGroup):
    value: FloatProperty(name="Beta")


class BodyRigCharacter(bpy.types.PropertyGroup):
    betas: CollectionProperty(type=BodyRigBeta, name="Shape", description="The fitted SMPL shape parameters")
    body_model: StringProperty(name="Body Model", description="The body model the character was built with")
    has_camera: BoolProperty(name="Has Camera", default=False)
    fx: FloatProperty()
    fy: FloatProperty()
    cx: FloatProperty()
    cy: FloatProperty()
    width: FloatProperty()
    height: FloatProperty()


_CLASSES = (BodyRigBeta, BodyRigCharacter)


def is_registered() -> bool:
    return "bodyrig" in bpy.types.Object.bl_rna.properties


def register() -> None:
    """Register the PropertyGroup and `Object.bodyrig` (a second call does nothing)."""
    if is_registered():
        return
    for cls in _CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Object.bodyrig = PointerProperty(type=BodyRigCharacter)


def unregister() -> None:
    if not is_registered():
        return
    del bpy.types.Object.bodyrig
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)


def write_character(arm_obj, betas, body_model: str, camera=None) -> None:
    """Store the shape `betas` [K], the body label and optionally a PinholeCamera on the armature object."""
    props = _props(arm_obj)
    props.betas.clear()
    for b in np.asarray(betas, dtype=np.float64).ravel():
        props.betas.add().value = float(b)
    props.body_model = str(body_model)
    if camera is not None:
        write_camera(arm_obj, camera)


def write_camera(arm_obj, camera) -> None:
    props = _props(arm_obj)
    for k in CAMERA_FIELDS:
        setattr(props, k, float(getattr(camera, k)))
    props.has_camera = True


def read_betas(arm_obj) -> np.ndarray:
    """The stored shape [K] (float64); BadInputError for an armature BodyRig did not build."""
    return np.array([b.value for b in _props(arm_obj, reading=True).betas], dtype=np.float64)


def read_body_label(arm_obj) -> str:
    return _props(arm_obj, reading=True).body_model


def read_camera(arm_obj):
    """The stored inference.camera.PinholeCamera, or None."""
    from ..inference.camera import PinholeCamera

    props = _props(arm_obj, reading=True)
    if not props.has_camera:
        return None
    return PinholeCamera(**{k: float(getattr(props, k)) for k in CAMERA_FIELDS})


def _props(arm_obj, reading: bool = False):
    from ..inference.errors import BadInputError, BodyRigError

    if not hasattr(arm_obj, "bodyrig"):
        raise BodyRigError("BodyRig's character properties are not registered (operators.character_props.register)")
    props = arm_obj.bodyrig
    if reading and not props.body_model:
        raise BadInputError(f"'{arm_obj.name}' carries no BodyRig shape: it was not built by BodyRig")
    return props
