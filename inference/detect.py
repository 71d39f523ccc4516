"""Person detection with MediaPipe Pose (the models bundled in the mediapipe 0.10.14 wheel; nothing downloaded).

`detect_person(image_rgb) -> Detection`: box, 33 2D keypoints, 33 3D world landmarks and a segmentation mask
of the largest person in the image. MediaPipe's legacy Pose finds one person per call; others are found by
painting the found person out and running again (a few rounds), and the largest box wins.

MediaPipe world landmarks (`Detection.world_landmarks`): metres, origin at the midpoint of the two hips,
axes approximately those of the camera (x to the image's right, y down, z away from the camera: a smaller z
is nearer the camera), the body's own size estimated by the network. Landmark order: keypoint_map.MEDIAPIPE_NAMES.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, field

import numpy as np

from .errors import BadInputError, NoPersonError

MAX_SIDE = 1280  # detect on a copy no larger than this; MediaPipe works at 256 px internally anyway
MAX_PEOPLE = 4  # detection rounds at most (each round costs one MediaPipe call)
MIN_VISIBLE = 6  # a detection needs this many landmarks with visibility >= 0.5 to count as a person
BOX_MARGIN = 0.1  # the box is the visible landmarks' extent grown by this fraction on each side

_POSE = None
_POSE_LOCK = threading.Lock()


@dataclass
class Detection:
    """One person in a photo, in pixels of the full image.

    box [4] float32 (x0, y0, x1, y1); keypoints2d [33,3] float32 (x px, y px, visibility in [0,1]);
    world_landmarks [33,3] float32 (see the module docstring); mask (H,W) float32 in [0,1];
    num_people: people found in the image; notes: sentences for the user (e.g. which person was used).
    """

    box: np.ndarray
    keypoints2d: np.ndarray
    world_landmarks: np.ndarray
    mask: np.ndarray
    num_people: int = 1
    notes: list[str] = field(default_factory=list)

    @property
    def area(self) -> float:
        return float(max(self.box[2] - self.box[0], 0) * max(self.box[3] - self.box[1], 0))


_WARMED_UP = False


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence the native INFO/WARNING lines MediaPipe prints to stderr while a graph starts up.

    They come from C++ (TFLite, absl) before any Python logging is set up, so only the file descriptor can be
    redirected. Use it around a graph's first inference only, when they appear, so later errors stay visible.
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


def import_mediapipe():
    """mediapipe, imported with its protobuf deprecation warning (not the user's to act on) filtered out."""
    import warnings

    import mediapipe as mp

    warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype", category=UserWarning)
    return mp


def _pose():
    """The one MediaPipe Pose graph of this process (created on first use; ~0.3 s)."""
    global _POSE
    if _POSE is None:
        _POSE = import_mediapipe().solutions.pose.Pose(
            static_image_mode=True, model_complexity=1, enable_segmentation=True, min_detection_confidence=0.5
        )
    return _POSE


def detect_people(image_rgb: np.ndarray, name: str = "the image") -> list[Detection]:
    """(H,W,3) uint8 RGB → every person found (up to MAX_PEOPLE), largest first; [] when there is none.

    MediaPipe's Pose finds one person per call: each found person is painted out and the image searched again.
    Masks are at the resolution detection ran at (see `detect_person` for a full-resolution one); `notes` say
    when a downscaled copy was used. `name` labels the image in messages (e.g. the file name).
    """
    from .images import downscale_for_detection

    rgb = np.asarray(image_rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or 0 in rgb.shape:
        raise BadInputError(f"{name} must be an (H, W, 3) uint8 RGB image, got {rgb.dtype} {rgb.shape}.")
    h, w = rgb.shape[:2]
    small, scale = downscale_for_detection(rgb, MAX_SIDE)
    work = np.array(small, copy=True)
    found: list[Detection] = []
    with _POSE_LOCK:  # one graph, one caller at a time
        for _ in range(MAX_PEOPLE):
            det = _run_once(work, (w, h))
            if det is None or any(box_iou(det.box, d.box) > 0.5 for d in found):
                break  # nobody else, or painting out failed and the same person came back
            found.append(det)
            _paint_out(work, det, scale)
        # A whole-image pass can merge overlapping people into one pose; a second look at the crop
        # around each person gives a cleaner pose, box and mask of one person.
        found = [_refine(small, d, scale, (w, h)) for d in found]
    notes = [f"detected on a {small.shape[1]}x{small.shape[0]} copy of the {w}x{h} image"] if scale < 1.0 else []
    for d in found:
        d.num_people, d.notes = len(found), list(notes)
    return sorted(found, key=lambda d: d.area, reverse=True)


def detect_person(image_rgb: np.ndarray, name: str = "the image") -> Detection:
    """(H,W,3) uint8 RGB → the Detection of the largest person, mask at full resolution; NoPersonError when
    there is none. `name` labels the image in messages (e.g. the file name).
    """
    people = detect_people(image_rgb, name)
    if not people:
        raise NoPersonError(f"no person found in {name}")
    best = people[0]
    if len(people) > 1:
        best.notes.append(f"{len(people)} people found; using the largest")
    h, w = np.asarray(image_rgb).shape[:2]
    best.mask = _full_res_mask(best.mask, (w, h))
    return best


def _run_once(small: np.ndarray, full_size: tuple[int, int], offset=(0.0, 0.0), image_size=None) -> Detection | None:
    """One MediaPipe call on `small` (the downscaled image or a crop of it) → Detection in full-image pixels.

    full_size: (W, H) in full-image pixels of what `small` shows; offset: its top-left corner there;
    image_size: (W, H) of the full image (for clipping the box), default full_size.
    """
    global _WARMED_UP
    with quiet_native_stderr() if not _WARMED_UP else contextlib.nullcontext():
        res = _pose().process(np.ascontiguousarray(small))
    _WARMED_UP = True
    if res.pose_landmarks is None:
        return None
    w, h = full_size
    lm = np.array([[p.x, p.y, p.visibility] for p in res.pose_landmarks.landmark], dtype=np.float64)
    kp = np.stack([offset[0] + lm[:, 0] * w, offset[1] + lm[:, 1] * h, np.clip(lm[:, 2], 0, 1)], 1)  # normalised → px
    kp = kp.astype(np.float32)
    visible = kp[:, 2] >= 0.5
    if visible.sum() < MIN_VISIBLE:
        return None
    world = np.array([[p.x, p.y, p.z] for p in res.pose_world_landmarks.landmark], dtype=np.float32)
    mask = res.segmentation_mask
    mask = np.zeros(small.shape[:2], np.float32) if mask is None else np.clip(np.asarray(mask, np.float32), 0, 1)
    box = _box(kp, visible, image_size or (w, h))
    return Detection(box=box, keypoints2d=kp, world_landmarks=world, mask=mask)


def _refine(small: np.ndarray, det: Detection, scale: float, size: tuple[int, int]) -> Detection:
    """Run again on the crop (in `small`) around `det`'s box grown by 20%; keep `det` if that finds nobody."""
    sh, sw = small.shape[:2]
    x0, y0, x1, y1 = det.box * scale
    grow = 0.2 * max(x1 - x0, y1 - y0)
    c0, r0 = int(max(x0 - grow, 0)), int(max(y0 - grow, 0))
    c1, r1 = int(min(np.ceil(x1 + grow), sw)), int(min(np.ceil(y1 + grow), sh))
    if c1 - c0 < 16 or r1 - r0 < 16:
        return det
    crop_full = ((c1 - c0) / scale, (r1 - r0) / scale)
    again = _run_once(small[r0:r1, c0:c1], crop_full, offset=(c0 / scale, r0 / scale), image_size=size)
    if again is None or box_iou(again.box, det.box) < 0.3:
        return det
    mask = np.zeros((sh, sw), np.float32)
    mask[r0:r1, c0:c1] = again.mask
    again.mask = mask
    return again


def _box(kp: np.ndarray, visible: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    pts = kp[visible, :2]
    lo, hi = pts.min(0), pts.max(0)
    grow = BOX_MARGIN * (hi - lo).max()
    lo = np.maximum(lo - grow, 0)
    hi = np.minimum(hi + grow, np.asarray(size, np.float32))
    return np.concatenate([lo, hi]).astype(np.float32)


def _paint_out(work: np.ndarray, det: Detection, scale: float) -> None:
    """Cover the found person (mask, dilated, plus the hull of its keypoints) with the image's mean colour."""
    import cv2

    region = (det.mask > 0.3).astype(np.uint8)
    x0, y0, x1, y1 = det.box * scale
    k = max(3, int(0.08 * max(x1 - x0, y1 - y0)) | 1)
    region = cv2.dilate(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    vis = det.keypoints2d[:, 2] >= 0.5
    hull = cv2.convexHull((det.keypoints2d[vis, :2] * scale).astype(np.int32))
    cv2.fillConvexPoly(region, hull, 1)
    work[region > 0] = work.reshape(-1, 3).mean(0).astype(np.uint8)


def _full_res_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    if mask.shape[::-1] == tuple(size):
        return mask.astype(np.float32)
    return np.clip(cv2.resize(mask, tuple(size), interpolation=cv2.INTER_LINEAR), 0, 1).astype(np.float32)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boxes (x0, y0, x1, y1)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0
