"""The one adapter to MediaPipe: pose landmarkers (Tasks API) on the model bundles BodyRig ships, results as numpy.

Models: inference/models/pose/pose_landmarker_{full,heavy}.task (built by scripts/build_pose_models.py from
MediaPipe's Apache-2.0 BlazePose releases; loaded by path, nothing is downloaded). `pose_model` picks one:
"full" (the default, measured in bench/RESULTS.md) or "heavy" (slower).

- `detect_image(rgb, num_poses, pose_model) -> [Pose]`: IMAGE mode on one picture, with a segmentation mask.
  The landmarkers are kept warm per process (one per model and pose count) and used by one caller at a time.
- `VideoLandmarker(pose_model)`: VIDEO mode (landmarks tracked from frame to frame), one per followed person;
  its timestamps must increase, which it enforces.

Keypoints: [33,3] float32 (x px, y px, visibility in [0,1]) in the pixels of the image given; landmark order
keypoint_map.MEDIAPIPE_NAMES. World landmarks: [33,3] float32 metres, origin at the midpoint of the hips, axes
approximately the camera's (x right, y down, z away from the camera), the body's size estimated by the network.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import BadInputError, ModelFileError

MODELS_DIR = Path(__file__).resolve().parent / "models" / "pose"
POSE_MODELS = ("full", "heavy")
DEFAULT_POSE_MODEL = "full"
MIN_DETECTION = 0.5  # the person detector's score needed to look at a box
MIN_PRESENCE = 0.5  # the landmark model's "a pose is here" score needed to keep a pose
MIN_TRACKING = 0.5  # VIDEO mode: below this the previous frame's region is dropped and the detector runs again
VISIBLE = 0.5  # a landmark counts as seen at this visibility
MIN_VISIBLE = 6  # a pose needs this many seen landmarks to count as a person
BOX_MARGIN = 0.1  # a person's box is the seen landmarks' extent grown by this fraction of its longer side


@dataclass
class Pose:
    """One person found by a landmarker: keypoints2d [33,3] (px, px, visibility), world [33,3] (metres),
    mask (H,W) float32 in [0,1] of the image given, or None when masks were not asked for."""

    keypoints2d: np.ndarray
    world: np.ndarray
    mask: np.ndarray | None


def model_path(pose_model: str = DEFAULT_POSE_MODEL) -> Path:
    """The shipped bundle for `pose_model` ("full" or "heavy")."""
    if pose_model not in POSE_MODELS:
        raise BadInputError(f"pose model {pose_model!r} is not one of {', '.join(POSE_MODELS)}")
    path = MODELS_DIR / f"pose_landmarker_{pose_model}.task"
    if not path.is_file():
        raise ModelFileError(f"the pose model {path} is missing: reinstall BodyRig or run "
                             f"scripts/build_pose_models.py")
    return path


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence the INFO/WARNING lines MediaPipe's C++ prints to stderr while a graph starts up and runs first.

    They come from TFLite and absl before any Python logging exists, so only the file descriptor can be
    redirected. Use it around a landmarker's creation and first inference only, so later errors stay visible.
    """
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _tasks():
    """(mediapipe, mediapipe.tasks.python.vision, BaseOptions), imported on first use (it loads a native lib)."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    return mp, vision, BaseOptions


class _Live:
    """A created PoseLandmarker. Its native start-up lines come at creation, at the first inference and at the
    first inference that finds a pose (landmark projection): stderr is silenced until that one is done."""

    def __init__(self, pose_model: str, video: bool, num_poses: int, masks: bool):
        mp, vision, BaseOptions = _tasks()
        opts = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path(pose_model))),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_poses=num_poses, min_pose_detection_confidence=MIN_DETECTION,
            min_pose_presence_confidence=MIN_PRESENCE, min_tracking_confidence=MIN_TRACKING,
            output_segmentation_masks=masks)
        with quiet_native_stderr():
            self.landmarker = vision.PoseLandmarker.create_from_options(opts)
        self.quiet = True

    def run(self, rgb: np.ndarray, time_ms: int | None = None):
        """One inference (IMAGE mode when time_ms is None) → PoseLandmarkerResult."""
        image = _image(rgb)
        with quiet_native_stderr() if self.quiet else contextlib.nullcontext():
            if time_ms is None:
                result = self.landmarker.detect(image)
            else:
                result = self.landmarker.detect_for_video(image, time_ms)
        self.quiet = self.quiet and not result.pose_landmarks
        return result

    def close(self) -> None:
        self.landmarker.close()


def _image(rgb: np.ndarray):
    mp, _, _ = _tasks()
    return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb, dtype=np.uint8))


def poses_from_result(result, size: tuple[int, int]) -> list[Pose]:
    """A PoseLandmarkerResult → Poses in pixels of an image of size (W, H); poses with too few seen landmarks
    (fewer than MIN_VISIBLE at VISIBLE) are dropped."""
    w, h = size
    masks = result.segmentation_masks or [None] * len(result.pose_landmarks)
    out = []
    for lms, world, mask in zip(result.pose_landmarks, result.pose_world_landmarks, masks):
        lm = np.array([[p.x, p.y, p.visibility if p.visibility is not None else 0.0] for p in lms], np.float64)
        kp = np.stack([lm[:, 0] * w, lm[:, 1] * h, np.clip(lm[:, 2], 0, 1)], 1).astype(np.float32)
        if (kp[:, 2] >= VISIBLE).sum() < MIN_VISIBLE:
            continue
        wl = np.array([[p.x, p.y, p.z] for p in world], np.float32)
        m = None if mask is None else np.clip(np.asarray(mask.numpy_view(), np.float32).reshape(h, w), 0, 1)
        out.append(Pose(keypoints2d=kp, world=wl, mask=m))
    return out


# ------------------------------------------------------------------------------------------- IMAGE mode
_IMAGE: dict[tuple[str, int], tuple[_Live, threading.Lock]] = {}  # (model, num_poses) → landmarker, its lock
_IMAGE_LOCK = threading.Lock()


def image_landmarker(pose_model: str = DEFAULT_POSE_MODEL, num_poses: int = 1):
    """This process's IMAGE-mode landmarker for (pose_model, num_poses) and the lock to hold while using it."""
    key = (pose_model, int(num_poses))
    with _IMAGE_LOCK:
        if key not in _IMAGE:
            _IMAGE[key] = (_Live(pose_model, False, int(num_poses), True), threading.Lock())
        return _IMAGE[key]


def detect_image(rgb: np.ndarray, num_poses: int = 1, pose_model: str = DEFAULT_POSE_MODEL) -> list[Pose]:
    """(H,W,3) uint8 RGB → up to num_poses Poses with masks, in the order MediaPipe gives them."""
    h, w = rgb.shape[:2]
    # MediaPipe 0.10.35 aborts the process when it converts a float mask whose rows are padded (its ImageFrame
    # aligns rows to 16 bytes: a width that is not a multiple of 4): pad the image on the right to one.
    pad = -w % 4
    if pad:
        rgb = np.pad(rgb, ((0, 0), (0, pad), (0, 0)))
    landmarker, lock = image_landmarker(pose_model, num_poses)
    with lock:
        result = landmarker.run(rgb)
    poses = poses_from_result(result, (w + pad, h))
    for p in poses:
        p.mask = p.mask[:, :w]
    return poses


@atexit.register
def _close_all():
    """Close the cached landmarkers while the interpreter can still run their clean-up (their __del__ fails
    at shutdown, when the modules it needs are gone)."""
    with _IMAGE_LOCK:
        for landmarker, _ in _IMAGE.values():
            landmarker.close()
        _IMAGE.clear()


# ------------------------------------------------------------------------------------------- VIDEO mode
class VideoLandmarker:
    """A VIDEO-mode landmarker for one person (num_poses 1, no mask): `detect(rgb, time_ms)` per frame.

    MediaPipe needs strictly increasing timestamps; a time at or before the last one is moved just after it.
    `reset()` starts a fresh landmarker (forgets the tracked region, e.g. when the tracker jumps elsewhere).
    """

    def __init__(self, pose_model: str = DEFAULT_POSE_MODEL):
        model_path(pose_model)  # a bad name or a missing file fails here, not at the first frame
        self.pose_model = pose_model
        self._landmarker = None
        self._last_ms = -1

    def detect(self, rgb: np.ndarray, time_ms: int) -> Pose | None:
        """(H,W,3) uint8 RGB at time_ms → the Pose (pixels of rgb) or None."""
        if self._landmarker is None:
            self._landmarker = _Live(self.pose_model, True, 1, False)
        t = max(int(time_ms), self._last_ms + 1)
        self._last_ms = t
        poses = poses_from_result(self._landmarker.run(rgb, t), (rgb.shape[1], rgb.shape[0]))
        return poses[0] if poses else None

    def reset(self) -> None:
        self.close()

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ------------------------------------------------------------------------------------------- boxes
def box_of(kp: np.ndarray, size: tuple[int, int], margin: float = BOX_MARGIN) -> np.ndarray | None:
    """Box [4] float32 (x0, y0, x1, y1) of the seen keypoints of [33,3] grown by `margin` x its longer side,
    clipped to size (W, H); None when fewer than MIN_VISIBLE are seen or the box is under 2 px."""
    vis = kp[:, 2] >= VISIBLE
    if vis.sum() < MIN_VISIBLE:
        return None
    lo, hi = kp[vis, :2].min(0), kp[vis, :2].max(0)
    grow = margin * (hi - lo).max()
    lo = np.maximum(lo - grow, 0)
    hi = np.minimum(hi + grow, np.asarray(size, np.float32))
    if np.any(hi - lo < 2):
        return None
    return np.concatenate([lo, hi]).astype(np.float32)


def box_iou(a, b) -> float:
    """Intersection over union of two boxes (x0, y0, x1, y1)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0
