"""PIFu's test-time input: a 512x512 square around the person, normalised to [-1,1] and masked."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BadInputError, NoPersonError

SIZE = 512  # the released networks were trained on 512x512 crops
HEIGHT_FACTOR = 1.14  # crop side / person height: the person fills the crop's height as in PIFu's training


@dataclass
class Crop:
    """image [3,512,512] float32 in [-1,1], already multiplied by the mask; mask [512,512] float32 in {0,1};
    origin (x0, y0) and side: the square's top-left corner and side in pixels of the original image
    (it may extend beyond the image, where it is filled with zeros)."""

    image: np.ndarray
    mask: np.ndarray
    origin: tuple
    side: float


def crop_for_pifu(rgb: np.ndarray, mask: np.ndarray, size: int = SIZE, factor: float = HEIGHT_FACTOR) -> Crop:
    """rgb (H,W,3) uint8, mask (H,W) float in [0,1] (the person) -> Crop.

    The square is centred on the mask's bounding box (mask > 0.5) with side `factor` x its larger extent
    (the height for a standing person). The mask is binarised at 0.5, as PIFu's training masks are binary.
    """
    import cv2

    rgb = np.asarray(rgb)
    mask = np.asarray(mask, dtype=np.float32)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or mask.shape != rgb.shape[:2]:
        raise BadInputError(f"image {rgb.shape} and mask {mask.shape} must be (H,W,3) and (H,W)")
    ys, xs = np.nonzero(mask > 0.5)
    if len(ys) == 0:
        raise NoPersonError("the person mask is empty: no person to reconstruct")
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    side = factor * max(y1 - y0, x1 - x0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ox, oy = cx - side / 2, cy - side / 2
    # One affine warp maps the square to size x size; outside the image it reads zeros (border constant).
    s = size / side
    m = np.array([[s, 0, -ox * s], [0, s, -oy * s]], np.float64)
    img = cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    msk = cv2.warpAffine(mask, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=0)
    msk = (msk > 0.5).astype(np.float32)
    image = (img.astype(np.float32) / 255.0 * 2 - 1).transpose(2, 0, 1) * msk[None]
    return Crop(np.ascontiguousarray(image), msk, (float(ox), float(oy)), float(side))
