"""Every test here starts from a fresh, empty Blender scene (PyPI bpy, headless)."""

import pytest


@pytest.fixture(autouse=True)
def empty_scene():
    bpy = pytest.importorskip("bpy")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    from bodyrig.operators import character_props

    character_props.register()  # what the extension registers: the properties every character carries
    yield bpy.context.scene


@pytest.fixture
def operators_on(monkeypatch):
    """BodyRig's operators registered on the tiny body, internal errors re-raised rather than reported."""
    from bodyrig import operators

    monkeypatch.setenv("BODYRIG_BODY", "tiny")
    monkeypatch.setenv("BODYRIG_DEBUG", "1")
    operators.register()
    yield
    operators.unregister()
