"""Blender UI only: preferences, properties, panels, menus and the dependency installer.

May import bpy and `operators`; calls operators, never does the work itself.
"""


def register():
    pass


def unregister():
    pass
