"""`load_body(spec)`: the one way the rest of BodyRig gets a body model, cached in-process.

spec: None, "" or "open" → the open body (built from `anny`, the default); "tiny" → the tiny test model;
anything else → a path to an SMPL-format .pkl/.npz file (read safely by smpl_io.load_body_model).
File models are cached by (resolved path, modification time), so an edited or replaced file is read again.
The returned BodyModelData is shared between callers: treat its arrays as read-only.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ..errors import ModelFileError
from .model import BodyModelData

_CACHE: dict = {}
_LOCK = threading.Lock()
_MODELS: dict = {}  # BodyModel per (data, device): the tensors on the device, kept between calls


def _key(spec) -> tuple:
    word = spec.strip().lower() if isinstance(spec, str) else spec
    if word is None or word in ("", "open"):  # an unset UI path field means the default body
        return ("open",)
    if word == "tiny":
        return ("tiny",)
    path = Path(spec).expanduser()
    try:
        path = path.resolve(strict=True)
        mtime = path.stat().st_mtime_ns
    except OSError:
        raise ModelFileError(
            f"body model {spec!s} not found: give 'open', 'tiny' or the path of an SMPL .pkl/.npz file"
        ) from None
    return ("file", str(path), mtime)


def open_body_module():
    """inference.body.open_body, imported only when asked for (it pulls in anny and torch)."""
    try:
        from . import open_body
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.open_body":
            raise  # a dependency of the open body is missing: a real error, keep its own message
        raise ModelFileError("this BodyRig has no open body module; give an SMPL .pkl/.npz file instead") from None
    return open_body


def _load(key: tuple) -> BodyModelData:
    if key[0] == "open":
        return open_body_module().load_open_body()
    if key[0] == "tiny":
        from .tiny import tiny_model

        return tiny_model()
    from .smpl_io import load_body_model

    return load_body_model(key[1])


def load_body(spec=None) -> BodyModelData:
    """The body model named by `spec` (None/"open", "tiny" or a file path), from the cache when unchanged."""
    if isinstance(spec, BodyModelData):
        return spec
    key = _key(spec)
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    data = _load(key)
    with _LOCK:
        if key[0] == "file":  # drop older versions of the same file
            for old in [k for k in _CACHE if k[0] == "file" and k[1] == key[1]]:
                del _CACHE[old]
        _CACHE[key] = data
    return data


def clear_body_cache() -> None:
    """Forget every cached model (tests; after rebuilding the open body)."""
    with _LOCK:
        _CACHE.clear()


def body_model(data: BodyModelData, device):
    """A BodyModel (torch) for `data` on `device`, kept between calls (the last few data/device pairs)."""
    from .model import BodyModel

    key = (id(data), str(device))
    with _LOCK:
        hit = _MODELS.get(key)
        if hit is not None and hit.data is data:
            return hit
        model = BodyModel(data, device=device)
        if len(_MODELS) >= 4:
            _MODELS.pop(next(iter(_MODELS)))
        _MODELS[key] = model
        return model


def body_label(body) -> str:
    """How results name the body they were fitted with: "open", "tiny", a model's name or a file path."""
    if body is None or body == "open":
        return "open"
    if isinstance(body, str) and body == "tiny":
        return "tiny"
    name = getattr(body, "name", None)
    return str(name if name is not None else body)


# Bodies whose shape space is not SMPL's: their betas mean something else, so SMPL betas (e.g. HMR's) do not apply.
NON_SMPL_SHAPE_SPACES = ("open_body", "tiny")


def speaks_smpl_shape(data: BodyModelData) -> bool:
    """True for SMPL model files (SMPL betas mean the same there); False for the open and tiny bodies."""
    return data.name not in NON_SMPL_SHAPE_SPACES
