"""The deterministic weights of ../shared/golden/README.md, rebuilt from a state-dict manifest (.tsv).

Shared by the HMR and PIFu golden-vector tests; independent of the network code under test.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np


def read_manifest(tsv: Path) -> list[tuple[str, tuple, str]]:
    """[(key, shape, dtype), ...] in the file's order."""
    rows = []
    for line in Path(tsv).read_text().splitlines():
        if line.strip():
            key, shape, dtype = line.split("\t")
            rows.append((key, tuple(json.loads(shape)), dtype))
    return rows


def deterministic_state_dict(tsv: Path, mean_params: Path | None = None) -> dict:
    """{key: torch.Tensor} with the README's formula; HMR's init_* buffers come from `mean_params`."""
    import torch

    means = np.load(mean_params) if mean_params is not None else None
    out = {}
    for key, shape, dtype in read_manifest(tsv):
        if key.endswith("num_batches_tracked"):
            out[key] = torch.tensor(0, dtype=torch.int64)
            continue
        if means is not None and key in ("init_pose", "init_shape", "init_cam"):
            arr = means[key[len("init_"):]].reshape(shape)
        else:
            n = np.random.default_rng(zlib.crc32(key.encode())).standard_normal(shape)
            if key.endswith("running_var"):
                arr = 1 + 0.1 * np.abs(n)
            elif key.endswith("running_mean"):
                arr = 0.1 * n
            elif key.endswith("bias"):
                arr = 0.05 * n
            elif len(shape) == 1:
                arr = 1 + 0.1 * n
            else:
                arr = n / np.sqrt(np.prod(shape[1:]))
        out[key] = torch.from_numpy(np.asarray(arr, dtype=np.float32))
    return out
