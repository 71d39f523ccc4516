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


@dataclass(frozen=True)
class CameraPath:
    """A video's camera through the clip, in the motion's WORLD frame (Y up, metres).

    rotation [T,3,3]: camera-to-world rotation per frame; its columns are the camera's x (right), y (down) and
    z (forward) axes (OpenCV's camera frame) written in the world frame. position [T,3]: the camera centre per
    frame. intrinsics: the PinholeCamera (constant over the clip). video: the source video's path, or None.
    A world point X is seen in frame t at camera coordinates rotation[t].T @ (X - position[t]).
    """

    rotation: np.ndarray
    position: np.ndarray
    intrinsics: PinholeCamera
    video: str | None = None

    def __post_init__(self):
        from .errors import BodyRigError

        rot = np.asarray(self.rotation, dtype=np.float64)
        pos = np.asarray(self.position, dtype=np.float64)
        if rot.ndim != 3 or rot.shape[1:] != (3, 3) or pos.shape != (len(rot), 3) or len(rot) == 0:
            raise BodyRigError(f"a camera path needs rotations [T,3,3] and positions [T,3] for the same T >= 1, "
                               f"got {rot.shape} and {pos.shape}")
        if not (np.isfinite(rot).all() and np.isfinite(pos).all()):
            raise BodyRigError("the camera path holds NaN or infinite numbers")
        if np.abs(rot @ np.swapaxes(rot, 1, 2) - np.eye(3)).max() > ROTATION_TOLERANCE or \
                (np.linalg.det(rot) < 0).any():
            raise BodyRigError("the camera path's rotations are not rotations (orthonormal, determinant +1)")
        k = self.intrinsics
        if not isinstance(k, PinholeCamera):
            k = PinholeCamera.from_dict(k)
        if not (np.isfinite(k.intrinsics()).all() and k.fx > 0 and k.fy > 0 and k.width > 0 and k.height > 0):
            raise BodyRigError("the camera path's intrinsics must be finite with positive focal length and size")
        object.__setattr__(self, "rotation", rot)
        object.__setattr__(self, "position", pos)
        object.__setattr__(self, "intrinsics", k)
        object.__setattr__(self, "video", None if self.video is None else str(self.video))

    @property
    def num_frames(self) -> int:
        return len(self.rotation)

    @classmethod
    def still(cls, num_frames: int, intrinsics: PinholeCamera, video=None) -> "CameraPath":
        """The still, level camera at the world origin: world = CAMERA_TO_WORLD · camera in every frame."""
        from .conventions import CAMERA_TO_WORLD

        return cls(np.repeat(CAMERA_TO_WORLD[None], num_frames, axis=0), np.zeros((num_frames, 3)), intrinsics,
                   video)

    def world_to_camera(self, points) -> np.ndarray:
        """points [T,N,3] world → [T,N,3] in each frame's camera (OpenCV frame, metres)."""
        p = np.asarray(points, dtype=np.float64)
        return np.einsum("tji,tnj->tni", self.rotation, p - self.position[:, None])

    def camera_to_world(self, points) -> np.ndarray:
        """points [T,N,3] in each frame's camera → [T,N,3] world."""
        p = np.asarray(points, dtype=np.float64)
        return np.einsum("tij,tnj->tni", self.rotation, p) + self.position[:, None]

    def project(self, points) -> np.ndarray:
        """points [T,N,3] world → [T,N,2] pixels in each frame."""
        return self.intrinsics.project(self.world_to_camera(points))

    def turned(self, rotation, offset=(0.0, 0.0, 0.0)) -> "CameraPath":
        """The same path with the whole world turned by `rotation` [3,3] and then shifted by `offset` [3]:
        R' = W R, p' = W p + offset (how a motion file's frame change or a re-grounding carries the camera)."""
        w = np.asarray(rotation, dtype=np.float64)
        return CameraPath(w @ self.rotation, self.position @ w.T + np.asarray(offset, dtype=np.float64),
                          self.intrinsics, self.video)

    def frames(self, a: int, b: int) -> "CameraPath":
        """Frames a..b-1 of the path."""
        return CameraPath(self.rotation[a:b], self.position[a:b], self.intrinsics, self.video)


ROTATION_TOLERANCE = 1e-4  # |R Rᵀ - I| allowed in a camera path (float32 round trips stay far inside)
