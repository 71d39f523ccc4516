"""BodyRig, a Blender extension: registration only (the work lives in operators/ and inference/).

Imported by Blender as `bl_ext.<repository>.bodyrig`; nothing here names the package, and nothing of BodyRig gets a
top-level module name in Blender's shared interpreter: operators/ and blender_addon/ import `inference`
relatively. (Outside Blender, `repo_package.py` imports the repository as the package `bodyrig`.)
"""


def _modules():
    from . import blender_addon, operators

    return (operators, blender_addon)


def register():
    for module in _modules():
        module.register()


def unregister():
    for module in reversed(_modules()):
        module.unregister()
