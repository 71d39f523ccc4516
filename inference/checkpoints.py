"""Network checkpoints, in one place: safe reading, strict loading, and one locked, bounded cache.

Files are data: `torch.load(weights_only=True)` only, so a file that names code is refused, never run. Loading
is strict: every key, every shape, real floats where the network has floats (an int32 or complex copy is refused,
not converted), every number finite, each fault named by its tensor. Loaded networks are cached by (kind,
resolved path, mtime, device) in one LRU of `CACHE_SIZE` entries behind a lock; the networks keep no per-call
state, so threads may share them.
Every failure is a ModelFileError.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from .errors import ModelFileError

CACHE_SIZE = 4  # HMR + PIFu's two networks, and one spare (e.g. a second device)
_CACHE: OrderedDict = OrderedDict()
_LOCK = threading.Lock()


def read_state_dict(path: Path, what: str, help_text: str = "", wrappers=("model", "state_dict")) -> dict:
    """The tensors of `path` (weights_only), unwrapped from {wrapper: state_dict} and nn.DataParallel's
    "module." prefix. `what` names the file in messages ("HMR checkpoint"); `help_text` says what to do."""
    import pickle
    import re

    import torch

    from .limits import check_checkpoint_zip

    tail = f" {help_text}" if help_text else ""
    check_checkpoint_zip(path, path.name, ModelFileError)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found is None:
            raise ModelFileError(f"{path.name} is not a readable {what} (damaged or another format).{tail}") from None
        raise ModelFileError(
            f"{path.name} was refused: besides tensors it names code ({found.group(1)}), and model files are "
            f"never allowed to run code; re-save the state dict alone with torch.save(model.state_dict()).{tail}"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise ModelFileError(f"{path.name} is not a readable {what} ({first}).{tail}") from None
    for key in wrappers:
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelFileError(f"{path.name} holds no {what} state dict.{tail}")
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def check_tensors(state: dict, expected: dict) -> tuple[list, list]:
    """(wrong dtypes, non-finite) among the tensors of `state` that `expected` (a state dict) also names, as
    "name dtype" strings: a float parameter must be stored as a real float (an int32 or complex copy is
    converted silently by torch and gives nonsense), an integer buffer (BatchNorm's counter) as an integer,
    and every float must be finite."""
    import torch

    dtypes, nonfinite = [], []
    for k, want in expected.items():
        got = state.get(k)
        if got is None:
            continue
        if got.is_complex() or got.dtype == torch.bool or got.is_floating_point() != want.is_floating_point():
            dtypes.append(f"{k} {str(got.dtype).replace('torch.', '')} (needs {str(want.dtype).replace('torch.', '')})")
        elif got.is_floating_point() and not bool(torch.isfinite(got).all()):
            nonfinite.append(k)
    return dtypes, nonfinite


def load_strict(net, state: dict, path: Path, what: str, help_text: str = ""):
    """Load `state` into `net` after checking every key, shape, number type and that every float is finite;
    ModelFileError lists what differs (at most four of each kind, on one line). Returns `net`."""
    expected = net.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
              if k in state and tuple(state[k].shape) != tuple(v.shape)]
    dtypes, nonfinite = check_tensors(state, expected)
    parts = []
    for kind, items in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", shapes),
                        ("tensors of the wrong number type", dtypes), ("tensors holding NaN/inf", nonfinite)):
        if items:
            more = f", ... ({len(items)} in all)" if len(items) > 4 else ""
            parts.append(f"{len(items)} {kind}: {', '.join(items[:4])}{more}")
    if parts:
        tail = f" {help_text}" if help_text else ""
        raise ModelFileError(f"{path.name} is not a {what}: " + "; ".join(parts) + f".{tail}")
    net.load_state_dict(state, strict=True)
    return net


def cached_network(kind: str, path, device, build):
    """The network for (kind, file, device) from the cache, else `build(path)` (→ a network on the CPU), moved
    to `device` in eval mode and cached. The file must exist (callers word their own 'not found')."""
    path = Path(path)
    key = (kind, str(path.resolve()), path.stat().st_mtime_ns, str(device))
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    net = build(path).eval().to(device)
    with _LOCK:
        _CACHE[key] = net
        _CACHE.move_to_end(key)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return net


def cached_count() -> int:
    """How many networks the cache holds now (at most CACHE_SIZE)."""
    with _LOCK:
        return len(_CACHE)


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()
