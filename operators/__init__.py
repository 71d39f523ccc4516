"""Scene building with bpy: the rig, poses and animation, imports and exports, and the Operator classes.

May import bpy, mathutils and `inference` (through small functions; inference never imports this package).
The scene-building modules (rig, pose, animate, export, photo_scene, video_camera, pifu_scene) take body models and pose
data and know nothing of images; the Operator classes (import_ops, export_ops, shape_ops) call inference for
that and build through them.
"""

from .export_ops import CLASSES as _EXPORT_CLASSES
from .import_ops import CLASSES as _IMPORT_CLASSES
from .retarget_ops import CLASSES as _RETARGET_CLASSES
from . import retarget_ops
from .shape_ops import BODYRIG_OT_update_joints

_CLASSES = (BODYRIG_OT_update_joints, *_IMPORT_CLASSES, *_EXPORT_CLASSES, *_RETARGET_CLASSES)


def register():
    import bpy

    from . import character_props

    character_props.register()
    for cls in _CLASSES:
        bpy.utils.register_class(cls)
    retarget_ops.register_properties()


def unregister():
    import bpy

    retarget_ops.unregister_properties()
    from . import character_props

    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)
    character_props.unregister()
