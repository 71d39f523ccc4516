"""Image -> clothed, coloured mesh with PIFu's released networks.

Frame of the result: PIFu's reconstruction box [-1,1]³ over the 512x512 crop; x right, y up, z toward the
camera (so y up and facing +z, like SMPL's body frame); 1 unit = half the crop side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .crop import Crop

# Grid cells per side. 512 (513³ points, PIFu's own highest setting) takes minutes on a CPU and about 0.5 GB
# for the grid; finer grids only cost time and memory (3000 ran for over 300 s before it was stopped).
MIN_RESOLUTION, MAX_RESOLUTION = 16, 512


@dataclass
class PifuMesh:
    """vertices [V,3] float32 (box frame above), faces [F,3] int64 (outward winding), colours [V,3] float32 in
    [0,1] or None (no colour net); crop: where the 512 square lies in the photo; evaluated_count: occupancy
    queries spent; mode, resolution: how the grid was sampled."""

    vertices: np.ndarray
    faces: np.ndarray
    colours: np.ndarray | None
    crop: Crop
    evaluated_count: int
    mode: str
    resolution: int


def reconstruct(image, net_g, net_c=None, resolution: int = 256, mode: str = "lossless", device="auto",
                mask=None, batch_points: int = 2 ** 17) -> PifuMesh:
    """image: a path or (H,W,3) uint8 RGB; net_g / net_c: checkpoint paths (net_c None: no colours);
    mask (H,W) float in [0,1] of the person, else found with MediaPipe (inference.detect).

    Raises ModelFileError (checkpoints, or networks whose outputs are not finite), NoPersonError, BadInputError.
    """
    from ..errors import BadInputError, NoPersonError

    if not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise BadInputError(f"PIFu's grid resolution must be {MIN_RESOLUTION}-{MAX_RESOLUTION}, got {resolution}")
    import torch

    from ..device import resolve_device
    from .checkpoints import load_networks
    from .crop import crop_for_pifu
    from .query import colours_at, occupancy_fn, test_calib
    from .surface import extract_occupancy, marching_cubes

    dev = resolve_device(device)
    g, c = load_networks(net_g, net_c, dev)  # first: a missing checkpoint is reported before any work
    rgb = _rgb(image)
    if mask is None:
        from ..detect import detect_person

        mask = detect_person(rgb).mask
    crop = crop_for_pifu(rgb, mask)
    img = torch.from_numpy(crop.image)[None].to(dev)
    calib = test_calib(dev)
    with torch.no_grad():
        feat = g.filter(img)
        _finite(feat, "shape", net_g)
        colour_feat = c.filter(img, feat) if c is not None else None
        if c is not None:
            _finite(colour_feat, "colour", net_c)
    grid = extract_occupancy(occupancy_fn(g, feat, calib), resolution, mode, batch_points=batch_points, device=dev)
    _finite(grid.values, "shape", net_g)  # else NaN never crosses 0.5 and the photo would be blamed
    verts, faces = marching_cubes(grid)
    if len(faces) == 0:
        raise NoPersonError("PIFu found no surface for this person (the occupancy never crosses 0.5); "
                            "check that the photo shows one whole person")
    colours = colours_at(c, colour_feat, calib, verts) if c is not None else None
    if colours is not None:
        _finite(colours, "colour", net_c)
    return PifuMesh(verts, faces, colours, crop, grid.evaluated_count, mode, int(resolution))


def _finite(values, which: str, checkpoint) -> None:
    """Refuse a network output holding NaN or inf: the network (its checkpoint) is at fault, not the photo."""
    import torch

    ok = bool(torch.isfinite(values).all()) if isinstance(values, torch.Tensor) else bool(np.isfinite(values).all())
    if not ok:
        from pathlib import Path

        from ..errors import ModelFileError

        raise ModelFileError(f"PIFu's {which} network ({Path(str(checkpoint)).name}) gives non-finite values "
                             f"(NaN or inf): its checkpoint is corrupt or not PIFu's; download it again")


def _rgb(image) -> np.ndarray:
    if isinstance(image, np.ndarray):
        return image
    from ..images import load_image

    return load_image(image).rgb
