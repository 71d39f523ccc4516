"""Scene building with bpy: the rig, poses and animation, imports and exports, and the Operator classes.

May import bpy, mathutils and `inference` (through small functions; inference never imports this package).
Knows nothing of images: it takes a body model and pose data.
"""

_CLASSES = ()

from .shape_ops import BODYRIG_OT_update_joints  # noqa: E402

_CLASSES += (BODYRIG_OT_update_joints,)

from .import_ops import CLASSES as _IMPORT_CLASSES  # noqa: E402
from .export_ops import CLASSES as _EXPORT_CLASSES  # noqa: E402

_CLASSES += _IMPORT_CLASSES + _EXPORT_CLASSES


def register():
    import bpy

    for cls in _CLASSES:
        bpy.utils.register_class(cls)


def unregister():
    import bpy

    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)
