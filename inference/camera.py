"""The pinhole camera convention of the project, in one place.

OpenCV frame (x right, y down, z forward, metres); intrinsics (fx, fy, cx, cy) in pixels; the principal point
at the image centre unless the photo says otherwise. Without an EXIF focal length the focal length is the image
diagonal: a 53° diagonal field of view, a 43 mm lens on full frame, typical of phone and kit-zoom photos.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def default_focal(width: float, height: float) -> float:
    """Focal length in pixels assumed when the photo has none: the image diagonal (53° diagonal FOV)."""
    return float(np.hypot(float(width), float(height)))


@dataclass(frozen=True)
class PinholeCamera:
    """A photo's pinhole camera: fx, fy, cx, cy in pixels, image width and height in pixels (OpenCV frame)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: float
    height: float

    @classmethod
    def from_dict(cls, d) -> "PinholeCamera":
        """From a mapping with the six keys (a BodyFit JSON's "camera")."""
        return cls(**{k: float(d[k]) for k in FIELDS})

    def as_dict(self) -> dict:
        return {k: float(getattr(self, k)) for k in FIELDS}

    def intrinsics(self) -> np.ndarray:
        """[4] (fx, fy, cx, cy), the batched form the fit's energy uses ([B,4] once stacked)."""
        return np.array([self.fx, self.fy, self.cx, self.cy], dtype=np.float64)

    def project(self, points) -> np.ndarray:
        """points [...,3] camera frame, metres → [...,2] pixels."""
        p = np.asarray(points, dtype=np.float64)
        return p[..., :2] / p[..., 2:3] * [self.fx, self.fy] + [self.cx, self.cy]


FIELDS = ("fx", "fy", "cx", "cy", "width", "height")
