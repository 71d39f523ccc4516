"""BodyRig's add-on preferences: body model files, checkpoints, device, and the dependency panel.

bl_idname is the extension's root package, found at import time (never written out). The device line imports
torch only when the preferences are drawn or refreshed, and says "not installed" when torch is missing.
"""

from __future__ import annotations

import importlib.util

import bpy
from bpy.props import EnumProperty, StringProperty

from . import root_package
from .installer import dependency_status, installer_state, python_problem

_device_cache: dict = {}


def device_summary(refresh: bool = False) -> str:
    """What compute device BodyRig would use, computed once (torch is heavy) and on Refresh."""
    if refresh or "text" not in _device_cache:
        if importlib.util.find_spec("torch") is None:
            text = "PyTorch not installed: use Install Dependencies below"
        else:
            try:
                from ..inference.device import cuda_status

                import torch

                text = f"CUDA: {cuda_status()}" if torch.cuda.is_available() else f"CPU only: {cuda_status()}"
            except Exception as exc:  # a broken torch install must not break drawing the preferences
                text = f"PyTorch could not be loaded: {type(exc).__name__}: {exc}"
        _device_cache["text"] = text
    return _device_cache["text"]


def _file(name, description):
    return StringProperty(name=name, description=description, subtype="FILE_PATH", default="")


class BODYRIG_OT_refresh_device(bpy.types.Operator):
    """Check again which compute device (CUDA GPU or CPU) PyTorch can use"""

    bl_idname = "bodyrig.refresh_device"
    bl_label = "Refresh"
    bl_options = {"INTERNAL"}

    def execute(self, context):
        self.report({"INFO"}, device_summary(refresh=True))
        return {"FINISHED"}


class BodyRigPreferences(bpy.types.AddonPreferences):
    bl_idname = root_package() or __package__

    body_source: EnumProperty(
        name="Body Model",
        items=(
            ("OPEN", "Open Body", "BodyRig's open SMPL-layout body (Apache-2.0/CC0, free for commercial use)"),
            ("SMPL", "SMPL Files", "The licensed SMPL model files (non-commercial licence, smpl.is.tue.mpg.de)"),
        ),
        default="OPEN",
    )
    smpl_neutral: _file("SMPL Neutral", "SMPL_NEUTRAL.pkl or .npz")
    smpl_male: _file("SMPL Male", "SMPL_MALE.pkl or .npz")
    smpl_female: _file("SMPL Female", "SMPL_FEMALE.pkl or .npz")
    hmr_checkpoint: _file("HMR Checkpoint", "Optional: SPIN's model_checkpoint.pt; without it BodyRig fits "
                                            "from keypoints alone")
    pifu_net_G: _file("PIFu net_G", "PIFu's surface network checkpoint (net_G)")
    pifu_net_C: _file("PIFu net_C", "PIFu's colour network checkpoint (net_C)")
    device: EnumProperty(
        name="Device",
        items=(
            ("AUTO", "Auto", "CUDA when available, else CPU"),
            ("CUDA", "CUDA", "The NVIDIA GPU (fails with a clear message when none is usable)"),
            ("CPU", "CPU", "The processor"),
        ),
        default="AUTO",
    )
    pose_model: EnumProperty(
        name="Keypoint Model",
        items=(
            ("FULL", "Full", "MediaPipe BlazePose full: the default (faster; measured in bench/RESULTS.md)"),
            ("HEAVY", "Heavy", "MediaPipe BlazePose heavy: about 1.5-2.5x slower, slightly more precise "
                               "2D keypoints on photos"),
        ),
        default="FULL",
    )

    def draw(self, context):
        draw_preferences(self, self.layout)


def draw_preferences(prefs, layout) -> None:
    """The preferences' layout (a function, so tests can call it with a stand-in layout)."""
    box = layout.box()
    box.label(text="Body model", icon="OUTLINER_OB_ARMATURE")
    box.prop(prefs, "body_source", expand=True)
    if prefs.body_source == "SMPL":
        for name in ("smpl_neutral", "smpl_male", "smpl_female"):
            box.prop(prefs, name)
        box.label(text="SMPL files come from smpl.is.tue.mpg.de (registration, non-commercial licence)")

    box = layout.box()
    box.label(text="Checkpoints (optional)", icon="FILE")
    box.prop(prefs, "hmr_checkpoint")
    box.prop(prefs, "pifu_net_G")
    box.prop(prefs, "pifu_net_C")

    box = layout.box()
    box.label(text="Compute device", icon="PREFERENCES")
    row = box.row()
    row.prop(prefs, "device", expand=True)
    row = box.row()
    row.label(text=device_summary())
    row.operator("bodyrig.refresh_device", text="", icon="FILE_REFRESH")
    row = box.row()
    row.label(text="Keypoint model")
    row.prop(prefs, "pose_model", expand=True)

    draw_dependencies(layout)


def draw_dependencies(layout) -> None:
    box = layout.box()
    box.label(text="Python dependencies", icon="SCRIPT")
    col = box.column(align=True)
    missing = 0
    for module, requirement, purpose, found in dependency_status():
        missing += not found
        col.label(text=f"{requirement}: {'installed' if found else 'MISSING'} ({purpose})",
                  icon="CHECKMARK" if found else "ERROR")
    state = installer_state()
    job = state.get("job")
    problem = python_problem()
    if problem:  # no tested set for this Python: say so instead of offering a pip run that cannot work
        for line in _wrap(problem):
            box.label(text=line, icon="ERROR")
    elif job is not None:
        box.label(text=job.status_text().replace(" — Esc to cancel", ""), icon="TIME")
    elif missing:
        box.operator("bodyrig.install_dependencies", icon="IMPORT")
        if not bpy.app.online_access:
            box.label(text="Blender is offline: allow online access in Preferences > System > Network",
                      icon="INFO")
    if state.get("error"):
        for line in _wrap(state["error"]):
            box.label(text=line, icon="CANCEL")
    elif state.get("done"):
        box.label(text=state["done"], icon="CHECKMARK")


def _wrap(text: str, width: int = 110) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [""]


CLASSES = (BODYRIG_OT_refresh_device, BodyRigPreferences)
