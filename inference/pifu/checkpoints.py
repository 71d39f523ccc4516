"""Loading PIFu's released `net_G` / `net_C` files (raw state dicts) safely and strictly.

Files are data: `torch.load(weights_only=True)` only. Every failure is a ModelFileError that says what to do.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelFileError

PIFU_URL = "https://github.com/shunsukesaito/PIFu"
HELP = (
    "PIFu's released checkpoints are needed: the files 'net_G' (shape) and 'net_C' (colour) from the PIFu "
    f"repository ({PIFU_URL}, scripts/download_trained_model.sh fetches them into checkpoints/). "
    "Download them, then pass them with --net-g and --net-c (or the add-on's PIFu preferences)."
)
# Cached loaded networks, keyed by (kind, resolved path, mtime, device): avoids re-reading 100+ MB per call.
_CACHE: dict = {}


def _describe(keys, limit: int = 5) -> str:
    keys = sorted(keys)
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def load_state_dict_into(net, path, kind: str):
    """Read `path` with weights_only=True and load it into `net` with strict key and shape checking.

    Raises ModelFileError naming the missing / unexpected / mis-shaped keys. Returns `net`.
    """
    import torch

    path = Path(path) if path else None
    if path is None or not path.is_file():
        raise ModelFileError(f"PIFu {kind} checkpoint not found: {path}. {HELP}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt, not a torch file, or holds code-executing objects
        raise ModelFileError(f"cannot read PIFu {kind} checkpoint {path} safely ({exc.__class__.__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}). {HELP}") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(hasattr(v, "shape") for v in state.values()):
        raise ModelFileError(f"{path} is not a PIFu {kind} state dict. {HELP}")
    # Files saved from nn.DataParallel prefix every key with 'module.'.
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    own = net.state_dict()
    missing = set(own) - set(state)
    unexpected = set(state) - set(own)
    problems = []
    if missing:
        problems.append(f"missing keys: {_describe(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_describe(unexpected)}")
    shapes = [k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape)]
    if shapes:
        problems.append("wrong shapes: " + _describe(
            f"{k} {tuple(state[k].shape)} (expected {tuple(own[k].shape)})" for k in shapes))
    if problems:
        raise ModelFileError(f"{path} does not match PIFu's {kind} network ({'; '.join(problems)}). "
                             f"Is it the right file? {HELP}")
    net.load_state_dict(state, strict=True)
    return net


def load_networks(net_g, net_c=None, device="cpu"):
    """(ShapeNet, ColorNet | None) in eval mode on `device`, loaded from the two files and cached."""
    from .networks import ColorNet, ShapeNet

    out = []
    for kind, cls, path in (("net_G (shape)", ShapeNet, net_g), ("net_C (colour)", ColorNet, net_c)):
        if path is None and cls is ColorNet:
            out.append(None)
            continue
        p = Path(path) if path else None
        if p is None or not p.is_file():
            raise ModelFileError(f"PIFu {kind} checkpoint not found: {p}. {HELP}")
        key = (kind, str(p.resolve()), p.stat().st_mtime_ns, str(device))
        if key not in _CACHE:
            net = load_state_dict_into(cls(), p, kind)
            _CACHE[key] = net.eval().to(device)
        out.append(_CACHE[key])
    return tuple(out)
