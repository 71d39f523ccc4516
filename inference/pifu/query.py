"""The networks as point queries for surface extraction: points [N,3] in the reconstruction box -> values."""

from __future__ import annotations


def test_calib(device="cpu"):
    """[1,4,4] PIFu's test-time calibration: identity with the y axis flipped (image rows grow downward,
    the box's y grows upward)."""
    import torch

    calib = torch.eye(4, device=device)[None]
    calib[0, 1, 1] = -1
    return calib


def occupancy_fn(net_g, features, calib):
    """fn(points [N,3]) -> occupancy [N] in [0,1] from a ShapeNet and the image's features (net_g.filter)."""
    import torch

    def fn(points):
        with torch.no_grad():
            return net_g.query(points.T[None].to(calib.dtype), calib, features)[0, 0]
    return fn


def colours_at(net_c, features, calib, vertices, batch_points: int = 2 ** 16):
    """Vertex colours [V,3] float32 in [0,1] at EVERY vertex (vertices [V,3] numpy), in bounded batches, from a
    ColorNet and the image's features (net_c.filter)."""
    import numpy as np
    import torch

    out = np.zeros((len(vertices), 3), np.float32)
    v = torch.as_tensor(np.asarray(vertices, np.float32), device=calib.device)
    with torch.no_grad():
        for start in range(0, len(v), batch_points):
            c = net_c.query(v[start:start + batch_points].T[None], calib, features)[0].T
            out[start:start + len(c)] = (0.5 * c + 0.5).clamp(0, 1).cpu().numpy()
    return out
