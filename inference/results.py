"""Results of the pipeline: `BodyFit` (one photo) and `MotionFit` (a video), and the camera → world rule.

Frames (the one place they are written down):
- body / world frame: SMPL's, Y up, a person at rest faces +Z, metres. The rig is built in it and turned
  Y-up → Z-up once at object level in Blender.
- camera frame: OpenCV's, x right, y down, z forward (into the scene), metres; camera at the origin.
- world = R_x(π) · camera: x right, y up, z toward the viewer. A person standing upright and facing the camera
  has a world global orientation near identity.
Poses are SMPL axis-angles [24,3] (joint 0 = global orientation about the rest pelvis), translations [3].
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .body.skeleton import SMPL_JOINT_NAMES

from .conventions import CAMERA_TO_WORLD

if TYPE_CHECKING:  # only named in annotations; camera.py is imported where a path is built
    from .camera import CameraPath

# A result is checked once, where it is made: a non-finite or absurd number is an error, never a file.
_ADVICE = ("the fit went wrong (such numbers usually come from a damaged body model or checkpoint); "
           "nothing was written")


def check_result(kind: str, **fields) -> None:
    """Raise BodyRigError when a result's array holds NaN/inf, or a pose/translation beyond the limits
    (inference.limits). kind names the result in the message ("the photo's fit")."""
    from .errors import BodyRigError
    from .limits import MAX_ANGLE_RAD, MAX_TRANSLATION_M, check_finite

    bounds = {"pose": MAX_ANGLE_RAD, "transl": MAX_TRANSLATION_M}
    for name, values in fields.items():
        check_finite(name, values, error=BodyRigError, what=f"{kind}: ", bound=bounds.get(name), advice=_ADVICE)


def reframe(pose, transl, rest_pelvis, rotation=CAMERA_TO_WORLD):
    """Express an SMPL body in another frame: pose [...,24,3], transl [...,3], rest_pelvis [3] → same shapes.

    SMPL rotates the body about its rest pelvis J0 and then translates: x' = R (x - J0) + J0 + t. Turning the
    whole body by W gives orientation W R and translation t' = W (J0 + t) - J0. rotation: [3,3], or [...,3,3]
    one per frame (a moving camera's camera-to-world turn).
    """
    from .rotations import axis_angle_to_matrix, matrix_to_axis_angle

    pose = np.array(pose, dtype=np.float64, copy=True)
    transl = np.asarray(transl, dtype=np.float64)
    j0 = np.asarray(rest_pelvis, dtype=np.float64)
    w = np.asarray(rotation, dtype=np.float64)
    pose[..., 0, :] = matrix_to_axis_angle(w @ axis_angle_to_matrix(pose[..., 0, :]))
    new_transl = np.einsum("...ij,...j->...i", w, j0 + transl) - j0
    return pose, new_transl


@dataclass
class BodyFit:
    """One person fitted in one photo. Arrays are numpy float64.

    pose [24,3] and transl [3] are in the CAMERA frame; `world()` gives them in the world frame.
    camera: an inference.camera.PinholeCamera (a dict with its six keys is converted). joints3d [24,3]: camera frame, metres.
    keypoints2d [33,3]: MediaPipe's landmarks in image pixels (x, y, visibility).
    rest_pelvis [3]: the shaped body's rest pelvis (needed to re-frame the pose).
    """

    pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    camera: dict
    joints3d: np.ndarray
    keypoints2d: np.ndarray
    rest_pelvis: np.ndarray
    body_model: str = "open"
    timings: dict = field(default_factory=dict)
    image: str | None = None
    notes: list = field(default_factory=list)

    def __post_init__(self):
        from .camera import PinholeCamera

        if not isinstance(self.camera, PinholeCamera):
            self.camera = PinholeCamera.from_dict(self.camera)
        check_result("the photo's fit", pose=self.pose, betas=self.betas, transl=self.transl,
                     joints3d=self.joints3d, rest_pelvis=self.rest_pelvis,
                     camera=[self.camera.fx, self.camera.fy, self.camera.cx, self.camera.cy])

    def world(self):
        """(pose [24,3], transl [3]) in the world frame (Y up, the camera at the origin looking along -Z)."""
        return reframe(self.pose, self.transl, self.rest_pelvis)

    def to_json_dict(self) -> dict:
        return {
            "pose": np.asarray(self.pose).tolist(),
            "betas": np.asarray(self.betas).tolist(),
            "transl": np.asarray(self.transl).tolist(),
            "camera": self.camera.as_dict(),
            "joints3d": {n: np.asarray(p).tolist() for n, p in zip(SMPL_JOINT_NAMES, self.joints3d)},
            "keypoints2d": np.asarray(self.keypoints2d).tolist(),
            "rest_pelvis": np.asarray(self.rest_pelvis).tolist(),
            "body_model": self.body_model,
            "timings": {k: float(v) for k, v in self.timings.items()},
            "image": self.image,
            "notes": list(self.notes),
            "units": "metres, radians; pose is SMPL axis-angle [24,3]; camera frame x right, y down, z forward",
        }

    def save_json(self, path) -> None:
        from .fileio import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_json_dict(), indent=1))

    @classmethod
    def from_json_dict(cls, d: dict) -> "BodyFit":
        return cls(
            pose=np.asarray(d["pose"], dtype=np.float64), betas=np.asarray(d["betas"], dtype=np.float64),
            transl=np.asarray(d["transl"], dtype=np.float64), camera=dict(d["camera"]),
            joints3d=np.asarray([d["joints3d"][n] for n in SMPL_JOINT_NAMES], dtype=np.float64),
            keypoints2d=np.asarray(d["keypoints2d"], dtype=np.float64),
            rest_pelvis=np.asarray(d["rest_pelvis"], dtype=np.float64), body_model=d.get("body_model", "open"),
            timings=d.get("timings", {}), image=d.get("image"), notes=d.get("notes", []),
        )


@dataclass
class MotionFit:
    """A motion: pose [T,24,3] and transl [T,3] in the WORLD frame (floor at y = 0 when grounded), fps float.

    detected [T] bool: the person was seen in that frame; filled [T] bool: the frame was interpolated across a
    short gap. gender: "neutral" | "male" | "female". metadata: extra JSON-able facts (source, units, ...).
    camera: the video's camera through the clip (inference.camera.CameraPath, same frames and world frame), or
    None when unknown (a motion file without one, an export from Blender).
    """

    pose: np.ndarray
    transl: np.ndarray
    betas: np.ndarray
    fps: float
    detected: np.ndarray | None = None
    filled: np.ndarray | None = None
    body_model: str = "open"
    gender: str = "neutral"
    metadata: dict = field(default_factory=dict)
    camera: CameraPath | None = None

    def __post_init__(self):
        self.pose = np.asarray(self.pose, dtype=np.float64).reshape(-1, 24, 3)
        t = len(self.pose)
        self.transl = np.asarray(self.transl, dtype=np.float64).reshape(t, 3)
        self.betas = np.asarray(self.betas, dtype=np.float64).reshape(-1)
        self.fps = float(self.fps)
        check_result("the motion", pose=self.pose, transl=self.transl, betas=self.betas, fps=self.fps)
        if self.fps <= 0:
            from .errors import BodyRigError

            raise BodyRigError(f"the motion's frame rate {self.fps:g} is not positive")
        self.detected = np.ones(t, bool) if self.detected is None else np.asarray(self.detected, bool)
        self.filled = np.zeros(t, bool) if self.filled is None else np.asarray(self.filled, bool)
        if self.camera is not None:
            from .camera import CameraPath
            from .errors import BodyRigError

            if not isinstance(self.camera, CameraPath):
                raise BodyRigError(f"the motion's camera must be a CameraPath, got {type(self.camera).__name__}")
            if self.camera.num_frames != t:
                raise BodyRigError(f"the motion's camera path has {self.camera.num_frames} frames, the motion {t}")

    @property
    def num_frames(self) -> int:
        return len(self.pose)
