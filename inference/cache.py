"""Where built assets live: `BODYRIG_CACHE` if set, else the platform's user cache folder."""

import os
import sys
from pathlib import Path


def cache_dir(*parts: str, create: bool = True) -> Path:
    """Return the cache folder (or a sub-folder of it), created on demand."""
    root = os.environ.get("BODYRIG_CACHE")
    if root:
        base = Path(root).expanduser()
    elif sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "BodyRig" / "Cache"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches" / "BodyRig"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "bodyrig"
    path = base.joinpath(*parts)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent
DATA_DIR = REPO_ROOT / "data"
SAMPLE_PHOTO = DATA_DIR / "sample_photo.jpg"
