"""What an operator adds to the file, removed again when it fails, and how failures are reported.

`Staging` records the data-blocks that exist (and the scene settings an import may change) before an operator
builds anything; `rollback()` removes every data-block added since and restores those settings, so a failed
operator returns CANCELLED with the scene unchanged whatever the builder got to before failing.

`report_failure(operator, exc)` is the one rule for errors: BodyRigError (the user-facing family) is reported
and the operator cancels; anything else is a bug: re-raised when BODYRIG_DEBUG=1 (tests), otherwise reported
with its type and printed to the console with its traceback.
"""

from __future__ import annotations

import os
import traceback

import bpy

# ID collections an import can add to; order matters for removal (users before the data they use).
_ID_COLLECTIONS = (
    "objects", "collections", "actions", "meshes", "armatures", "shape_keys", "materials", "images", "cameras",
    "lights", "node_groups", "textures", "worlds",
)
_SCENE_SETTINGS = (
    ("render", "fps"), ("render", "fps_base"), (None, "frame_start"), (None, "frame_end"),
    (None, "frame_current"), (None, "camera"),
)


class Staging:
    """Snapshot of bpy.data and the scene's timing; `rollback()` undoes additions made since."""

    def __init__(self, context):
        self.scene = context.scene
        self._before = {name: {id_.as_pointer() for id_ in getattr(bpy.data, name)} for name in _ID_COLLECTIONS
                        if hasattr(bpy.data, name)}
        self._settings = [(owner, attr, getattr(self._owner(owner), attr)) for owner, attr in _SCENE_SETTINGS]
        self._active = context.view_layer.objects.active if context.view_layer else None

    def _owner(self, owner):
        return self.scene if owner is None else getattr(self.scene, owner)

    def added(self) -> dict:
        """{collection name: [new data-blocks]} since the snapshot."""
        out = {}
        for name, before in self._before.items():
            new = [id_ for id_ in getattr(bpy.data, name) if id_.as_pointer() not in before]
            if new:
                out[name] = new
        return out

    def rollback(self) -> None:
        """Remove every data-block added since the snapshot and restore the scene settings."""
        added = self.added()
        ids = [id_ for name in _ID_COLLECTIONS for id_ in added.get(name, ()) if name != "shape_keys"]
        if ids:
            bpy.data.batch_remove(ids)  # shape-key blocks go with their meshes
        for owner, attr, value in self._settings:
            try:
                setattr(self._owner(owner), attr, value)
            except (ReferenceError, TypeError, AttributeError):
                pass


def debug_mode() -> bool:
    return os.environ.get("BODYRIG_DEBUG", "") not in ("", "0")


def report_failure(operator, exc: BaseException, staging: Staging | None = None):
    """Report `exc` on `operator` and return {'CANCELLED'}, after rolling `staging` back."""
    from ..inference.errors import BodyRigError

    if staging is not None:
        staging.rollback()
    if isinstance(exc, BodyRigError):
        operator.report({"ERROR"}, str(exc))
        return {"CANCELLED"}
    if debug_mode():
        raise exc
    traceback.print_exception(type(exc), exc, exc.__traceback__)
    operator.report({"ERROR"}, f"BodyRig internal error ({type(exc).__name__}: {exc}); see the system console")
    return {"CANCELLED"}


def run_staged(operator, context, build):
    """Call `build()` (which writes to the scene) with rollback on any failure. Returns the operator result."""
    staging = Staging(context)
    try:
        result = build()
    except Exception as exc:
        return report_failure(operator, exc, staging)
    return result if result is not None else {"FINISHED"}
