"""The repository imported as the package `bodyrig`, as Blender imports the installed extension
(`bl_ext.<repository>.bodyrig`): for the scripts and tests that run the Blender layer outside an extension.

    import repo_package; repo_package.install()      # then: from bodyrig.operators.rig import build_character

Outside Blender the Blender-free core is also the top-level package `inference` (`python -m inference`, unit
tests). `bodyrig.inference[.x]` is made an alias of `inference[.x]` rather than a second copy, so that both names
give one module: one class per exception and result, one model cache. Not part of the extension: the manifest's
build whitelist leaves this file out, and nothing inside the extension imports it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
NAME = "bodyrig"
_CORE = "inference"


class _CoreAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `bodyrig.inference[.x]` and hands back the already importable `inference[.x]` module itself."""

    def __init__(self):
        self._specs = {}

    def find_spec(self, fullname, path=None, target=None):
        if fullname == f"{NAME}.{_CORE}" or fullname.startswith(f"{NAME}.{_CORE}."):
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = importlib.import_module(spec.name[len(NAME) + 1:])
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module):
        # The import system stamps the alias's spec on the module; give it back its own (it is `inference.x`).
        module.__spec__ = self._specs.pop(module.__spec__.name)


def install() -> None:
    """Make `import bodyrig` (the repository root) work; idempotent."""
    if NAME in sys.modules:
        return
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # for the top-level `inference` the alias points at
    sys.meta_path.insert(0, _CoreAlias())
    spec = importlib.util.spec_from_file_location(NAME, ROOT / "__init__.py", submodule_search_locations=[str(ROOT)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[NAME]
        raise
