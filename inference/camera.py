"""The pinhole camera convention of the project, in one place.

OpenCV frame (x right, y down, z forward, metres); intrinsics (fx, fy, cx, cy) in pixels; the principal point
at the image centre unless the photo says otherwise. Without an EXIF focal length the focal length is the image
diagonal: a 53° diagonal field of view, a 43 mm lens on full frame, typical of phone and kit-zoom photos.
"""

from __future__ import annotations

import numpy as np


def default_focal(width: float, height: float) -> float:
    """Focal length in pixels assumed when the photo has none: the image diagonal (53° diagonal FOV)."""
    return float(np.hypot(float(width), float(height)))
