"""BodyRig, a Blender extension: registration only (the work lives in operators/ and inference/).

Imported by Blender as `bl_ext.<repository>.bodyrig`; nothing here names the package.
"""

from . import blender_addon, operators

_MODULES = (operators, blender_addon)


def register():
    for module in _MODULES:
        module.register()


def unregister():
    for module in reversed(_MODULES):
        module.unregister()
