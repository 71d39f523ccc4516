"""BodyRig, a Blender extension: registration only (the work lives in operators/ and inference/).

Imported by Blender as `bl_ext.<repository>.bodyrig`; nothing here names the package. `inference` is a plain
Python package that also runs outside Blender (CLI, batch, tests), where it is imported as `inference`;
operators/ import it by that short name, so the extension registers its bundled copy under it once, here.
"""

import importlib
import sys


def _provide_inference():
    bundled = importlib.import_module(".inference", __package__)
    present = sys.modules.setdefault("inference", bundled)
    if present is not bundled and getattr(present, "__file__", None) != bundled.__file__:
        raise ImportError(
            f"another module named 'inference' is already loaded ({present.__file__}); "
            "disable the add-on that provides it to use BodyRig"
        )


_provide_inference()

from . import blender_addon, operators  # noqa: E402  (needs `inference` above)

_MODULES = (operators, blender_addon)


def register():
    for module in _MODULES:
        module.register()


def unregister():
    for module in reversed(_MODULES):
        module.unregister()
