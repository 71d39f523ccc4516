"""Blender UI only: preferences, properties, panels, menus and the dependency installer.

May import bpy and `operators` (relatively: `..operators`); calls operators, never does the work itself. Nothing
names the extension's package: it is found from __package__ (`bl_ext.<repository>.bodyrig` as an extension).
"""


def root_package() -> str:
    """The extension's root package (what AddonPreferences.bl_idname must be), '' outside an extension."""
    return __package__.rpartition(".")[0]


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
