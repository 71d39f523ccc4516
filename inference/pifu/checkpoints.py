"""Loading PIFu's released `net_G` / `net_C` files (raw state dicts) through inference.checkpoints (safe,
strict, one cache). Every failure is a ModelFileError that says where to get the files.
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


def load_state_dict_into(net, path, kind: str):
    """Read `path` safely and load it into `net` strictly (inference.checkpoints). Returns `net`.

    Raises ModelFileError naming the missing / unexpected / mis-shaped keys, with where to get the files.
    """
    from ..checkpoints import load_strict, read_state_dict

    path = Path(path) if path else None
    if path is None or not path.is_file():
        raise ModelFileError(f"PIFu {kind} checkpoint not found: {path}. {HELP}")
    what = f"PIFu {kind} checkpoint"
    return load_strict(net, read_state_dict(path, what, HELP), path, what, HELP)


def load_networks(net_g, net_c=None, device="cpu"):
    """(ShapeNet, ColorNet | None) in eval mode on `device`, loaded from the two files (inference.checkpoints'
    cache)."""
    from ..checkpoints import cached_network
    from .networks import ColorNet, ShapeNet

    out = []
    for kind, cls, path in (("net_G (shape)", ShapeNet, net_g), ("net_C (colour)", ColorNet, net_c)):
        if path is None and cls is ColorNet:
            out.append(None)
            continue
        p = Path(path) if path else None
        if p is None or not p.is_file():
            raise ModelFileError(f"PIFu {kind} checkpoint not found: {p}. {HELP}")
        out.append(cached_network(f"pifu {kind}", p, device,
                                  lambda f, cls=cls, kind=kind: load_state_dict_into(cls(), f, kind)))
    return tuple(out)
