"""Blender UI only: preferences, properties, panels, menus and the dependency installer.

May import bpy and `operators`; calls operators, never does the work itself. Nothing names the extension's
package: it is found from __package__ (`bl_ext.<repository>.bodyrig` when installed as an extension).
"""

import importlib


def root_package() -> str:
    """The extension's root package (what AddonPreferences.bl_idname must be), '' outside an extension."""
    return __package__.rpartition(".")[0]


def sibling(name: str):
    """Import the extension's sibling package `name` (e.g. "operators.modal") whether installed or not."""
    root = root_package()
    return importlib.import_module(f"{root}.{name}" if root else name)


def _modules():
    from . import installer, menus, panels, preferences

    return (preferences, installer, panels, menus)


def register():
    import bpy

    from . import installer

    installer.add_site_packages()  # packages installed by the dependency button become importable
    for module in _modules():
        for cls in module.CLASSES:
            bpy.utils.register_class(cls)
    from . import menus

    menus.add()


def unregister():
    import bpy

    from . import installer, menus

    menus.remove()
    for module in reversed(_modules()):
        for cls in reversed(module.CLASSES):
            bpy.utils.unregister_class(cls)
    installer.remove_site_packages()
