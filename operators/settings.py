"""Operator properties + add-on preferences → one plain settings dict that `inference` understands.

The dict (no bpy types inside, so it can cross to the worker thread):
    body        None (the default: open body) | "open" | "tiny" | path of an SMPL .pkl/.npz
    gender      "neutral" | "male" | "female"
    checkpoint  path of an HMR checkpoint or None
    device      "auto" | "cpu" | "cuda"
    pifu_net_G, pifu_net_C   paths or None
    shape_keys  bool
BODYRIG_BODY (environment) overrides the body for batch runs and tests, e.g. BODYRIG_BODY=tiny.
"""

from __future__ import annotations

import os

from ..inference.errors import ModelFileError

DEFAULTS = {
    "body": None, "gender": "neutral", "checkpoint": None, "device": "auto", "pifu_net_G": None,
    "pifu_net_C": None, "shape_keys": False,
}


def root_package() -> str:
    """The extension's package (`bl_ext.<repo>.bodyrig` in Blender, or '' when run from the repository)."""
    return __package__.rpartition(".")[0]


def addon_preferences(context):
    """The extension's AddonPreferences, or None when not installed as an extension (tests, batch)."""
    root = root_package()
    if not root or context is None:
        return None
    addon = context.preferences.addons.get(root)
    return addon.preferences if addon is not None else None


def _path(value) -> str | None:
    """A Blender path property → absolute path string, or None when empty."""
    if not value:
        return None
    try:
        import bpy

        value = bpy.path.abspath(value)
    except ImportError:
        pass
    return os.path.abspath(os.path.expanduser(value))


def settings_from(operator=None, prefs=None) -> dict:
    """Merge the defaults, the preferences (`prefs`, may be None) and the operator's own properties.

    Missing attributes are fine on either side. Raises ModelFileError when the SMPL body is chosen but the
    file for the requested gender is not set or does not exist.
    """
    s = dict(DEFAULTS)
    gender = str(getattr(operator, "gender", "NEUTRAL")).lower()
    s["gender"] = gender if gender in ("neutral", "male", "female") else "neutral"
    s["shape_keys"] = bool(getattr(operator, "shape_keys", False))
    if prefs is not None:
        s["device"] = str(getattr(prefs, "device", "AUTO")).lower()
        s["checkpoint"] = _path(getattr(prefs, "hmr_checkpoint", ""))
        s["pifu_net_G"] = _path(getattr(prefs, "pifu_net_G", ""))
        s["pifu_net_C"] = _path(getattr(prefs, "pifu_net_C", ""))
        if getattr(prefs, "body_source", "OPEN") == "SMPL":
            path = _path(getattr(prefs, f"smpl_{s['gender']}", ""))
            if path is None:
                raise ModelFileError(
                    f"no SMPL {s['gender']} file is set: choose it in Preferences > Add-ons > BodyRig, "
                    "or switch the body model to the open body")
            if not os.path.isfile(path):
                raise ModelFileError(f"SMPL {s['gender']} file not found: {path}; fix it in BodyRig's preferences")
            s["body"] = path
    device = s["device"]
    s["device"] = device if device in ("auto", "cpu", "cuda") else "auto"
    if os.environ.get("BODYRIG_BODY"):
        s["body"] = os.environ["BODYRIG_BODY"]
    return s


def settings_for(operator, context) -> dict:
    """`settings_from` with the installed extension's preferences."""
    return settings_from(operator, addon_preferences(context))
