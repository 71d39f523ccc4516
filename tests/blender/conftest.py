"""Every test here starts from a fresh, empty Blender scene (PyPI bpy, headless)."""

import pytest


@pytest.fixture(autouse=True)
def empty_scene():
    bpy = pytest.importorskip("bpy")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    from bodyrig.operators import character_props

    character_props.register()  # what the extension registers: the properties every character carries
    yield bpy.context.scene
