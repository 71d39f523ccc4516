"""Person detection in photos: MediaPipe's pose landmarker (inference.mediapipe_pose) on the shipped models.

`detect_person(image_rgb) -> Detection`: box, 33 2D keypoints, 33 3D world landmarks and a segmentation mask
of the largest person in the image; `detect_people` returns everyone found (up to MAX_PEOPLE). The landmarker
finds one person per call; others are found by painting the found person out and running again.

World landmarks (`Detection.world_landmarks`): metres, origin at the midpoint of the two hips, axes
approximately those of the camera (x to the image's right, y down, z away from the camera: a smaller z is
nearer the camera), the body's own size estimated by the network. Landmark order: keypoint_map.MEDIAPIPE_NAMES.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import BadInputError, NoPersonError
from .mediapipe_pose import DEFAULT_POSE_MODEL, box_iou, box_of, detect_image

MAX_SIDE = 1280  # detect on a copy no larger than this; MediaPipe works at 224-256 px internally anyway
MAX_PEOPLE = 4  # people looked for at most
# A person who fills the picture (a tight crop, cut at the edges) is often missed by the landmarker's person
# detector, which expects some room around a body. When nobody is found the picture is looked at once more with
# a grey border of this fraction of its longer side: it finds 2 of the 3 person-centred HMR demo crops in
# ../shared/data/photos that the plain pass misses (a wider border, 1.0, finds fewer).
PAD_FRACTION = 0.25
PAD_GREY = 114

__all__ = ["Detection", "box_iou", "detect_people", "detect_person", "with_mirror", "MAX_PEOPLE", "MAX_SIDE"]


@dataclass
class Detection:
    """One person in a photo, in pixels of the full image.

    box [4] float32 (x0, y0, x1, y1); keypoints2d [33,3] float32 (x px, y px, visibility in [0,1]);
    world_landmarks [33,3] float32 (see the module docstring); mask (H,W) float32 in [0,1];
    num_people: people found in the image; notes: sentences for the user (e.g. which person was used);
    world_mirrored [33,3] float32 or None: world_landmarks averaged with a mirrored pass's (`with_mirror`), when
    detect_person was asked for them (`mirror_3d`): the photo fit's starting pose.
    """

    box: np.ndarray
    keypoints2d: np.ndarray
    world_landmarks: np.ndarray
    mask: np.ndarray
    num_people: int = 1
    notes: list[str] = field(default_factory=list)
    world_mirrored: np.ndarray | None = None

    @property
    def area(self) -> float:
        return float(max(self.box[2] - self.box[0], 0) * max(self.box[3] - self.box[1], 0))


def detect_people(image_rgb: np.ndarray, name: str = "the image",
                  pose_model: str = DEFAULT_POSE_MODEL) -> list[Detection]:
    """(H,W,3) uint8 RGB → every person found (up to MAX_PEOPLE), largest first; [] when there is none.

    Masks are at the resolution detection ran at (see `detect_person` for a full-resolution one); `notes` say
    when a downscaled copy was used. `name` labels the image in messages (e.g. the file name); `pose_model`:
    "full" or "heavy" (inference.mediapipe_pose.POSE_MODELS).
    """
    from .images import downscale_for_detection

    rgb = np.asarray(image_rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or 0 in rgb.shape:
        raise BadInputError(f"{name} must be an (H, W, 3) uint8 RGB image, got {rgb.dtype} {rgb.shape}.")
    h, w = rgb.shape[:2]
    small, scale = downscale_for_detection(rgb, MAX_SIDE)
    found = _search(small, scale, (w, h), pose_model)
    notes = [f"detected on a {small.shape[1]}x{small.shape[0]} copy of the {w}x{h} image"] if scale < 1.0 else []
    if not found:
        found = _search_padded(small, scale, (w, h), pose_model)
        if found:
            notes.append("the person fills the picture: found once its edges were padded")
    for d in found:
        d.num_people, d.notes = len(found), list(notes)
    return sorted(found, key=lambda d: d.area, reverse=True)


# The photo fit's detection runs the mirrored pass for its starting pose (with_mirror) only when this is True.
# Measured (bench/RESULTS.md, issue 15): it helped the rendered set it was tuned on (reaching 87 -> 71 mm) but not
# a held-out one (99.2 -> 98.7 mm overall, reaching still worse than MediaPipe), and its pass cost 0.09 s warm,
# which took the photo CLI past 2.5x a bare MediaPipe process: off until it pays on unseen images.
MIRRORED_START = False


def detect_person(image_rgb: np.ndarray, name: str = "the image",
                  pose_model: str = DEFAULT_POSE_MODEL, mirror_3d: bool = False) -> Detection:
    """(H,W,3) uint8 RGB → the Detection of the largest person, mask at full resolution; NoPersonError when
    there is none. `name` labels the image in messages (e.g. the file name); `pose_model`: "full" or "heavy".
    mirror_3d: also run the mirrored pass of `with_mirror` and keep its averaged world landmarks in
    `world_mirrored` (one more landmarker pass on the person's crop); the 2D keypoints stay this pass's own.
    """
    people = detect_people(image_rgb, name, pose_model)
    if not people:
        raise NoPersonError(f"no person found in {name}")
    best = people[0]
    if len(people) > 1:
        best.notes.append(f"{len(people)} people found; using the largest")
    h, w = np.asarray(image_rgb).shape[:2]
    best.mask = _full_res_mask(best.mask, (w, h))
    if mirror_3d:
        best.world_mirrored = with_mirror(best, image_rgb, pose_model).world_landmarks
    return best


def _detections(small: np.ndarray, scale: float, size: tuple[int, int], num_poses: int, pose_model: str,
                offset=(0, 0)) -> list[Detection]:
    """The landmarker on `small` (the downscaled image or a crop of it at `offset` there) → Detections in
    full-image pixels; size: (W, H) of the full image."""
    out = []
    for p in detect_image(small, num_poses, pose_model):
        kp = p.keypoints2d.copy()
        kp[:, 0] = (kp[:, 0] + offset[0]) / scale
        kp[:, 1] = (kp[:, 1] + offset[1]) / scale
        box = box_of(kp, size)
        if box is not None:
            out.append(Detection(box=box, keypoints2d=kp, world_landmarks=p.world, mask=p.mask))
    return out


def _search(small, scale, size, pose_model) -> list[Detection]:
    """One person per landmarker call: paint each found person out and look again (a few rounds); then a second
    look at the crop around each, since a whole-image pass can merge overlapping people into one pose.

    Asking the landmarker for several poses at once finds fewer people on the COCO photos (it returns copies of
    the most confident person; bench/bench_pose_models.py, bench/RESULTS.md), so it is not used.
    """
    work = np.array(small, copy=True)
    found: list[Detection] = []
    for _ in range(MAX_PEOPLE):
        dets = _detections(work, scale, size, 1, pose_model)
        if not dets or any(box_iou(dets[0].box, d.box) > 0.5 for d in found):
            break  # nobody else, or painting out failed and the same person came back
        found.append(dets[0])
        _paint_out(work, dets[0], scale)
    return [_refine(small, d, scale, size, pose_model) for d in found]


def _search_padded(small, scale, size, pose_model) -> list[Detection]:
    """The landmarker once on `small` inside a border of PAD_FRACTION of its longer side → at most one
    Detection in full-image pixels (keypoints may lie outside the picture), its mask cut back to `small`."""
    import cv2

    sh, sw = small.shape[:2]
    pad = max(1, int(round(PAD_FRACTION * max(sh, sw))))
    padded = cv2.copyMakeBorder(np.ascontiguousarray(small), pad, pad, pad, pad, cv2.BORDER_CONSTANT,
                                value=(PAD_GREY,) * 3)
    dets = _detections(padded, scale, size, 1, pose_model, (-pad, -pad))
    for d in dets[:1]:
        d.mask = np.ascontiguousarray(d.mask[pad:pad + sh, pad:pad + sw]) if d.mask is not None else d.mask
    return dets[:1]


def _refine(small, det, scale, size, pose_model) -> Detection:
    """Run again on the crop (in `small`) around `det`'s box grown by 20%; keep `det` if that finds nobody."""
    sh, sw = small.shape[:2]
    x0, y0, x1, y1 = det.box * scale
    grow = 0.2 * max(x1 - x0, y1 - y0)
    c0, r0 = int(max(x0 - grow, 0)), int(max(y0 - grow, 0))
    c1, r1 = int(min(np.ceil(x1 + grow), sw)), int(min(np.ceil(y1 + grow), sh))
    if c1 - c0 < 16 or r1 - r0 < 16:
        return det
    again = _detections(np.ascontiguousarray(small[r0:r1, c0:c1]), scale, size, 1, pose_model, (c0, r0))
    if not again or box_iou(again[0].box, det.box) < 0.3:
        return det
    mask = np.zeros((sh, sw), np.float32)
    mask[r0:r1, c0:c1] = again[0].mask
    again[0].mask = mask
    return again[0]


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


def with_mirror(det: Detection, image_rgb: np.ndarray, pose_model: str = DEFAULT_POSE_MODEL) -> Detection:
    """Test-time augmentation: the landmarker once more on the mirrored crop around det's box (grown by 20%),
    its landmarks turned back (x mirrored, left and right swapped), averaged with det's: 2D weighted by
    visibility, world landmarks plainly. On the rendered 3D set (bench/RESULTS.md) this lowers both
    MediaPipe's and the fit's 3D error. det is returned unchanged when the mirrored pass finds nobody, or
    someone whose box overlaps det's by less than half."""
    from .images import downscale_for_detection
    from .keypoint_map import LEFT_RIGHT_SWAP

    rgb = np.asarray(image_rgb)
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = det.box
    grow = 0.2 * max(x1 - x0, y1 - y0)
    c0, r0 = int(max(x0 - grow, 0)), int(max(y0 - grow, 0))
    c1, r1 = int(min(np.ceil(x1 + grow), w)), int(min(np.ceil(y1 + grow), h))
    if c1 - c0 < 16 or r1 - r0 < 16:
        return det
    crop, scale = downscale_for_detection(np.ascontiguousarray(rgb[r0:r1, c0:c1][:, ::-1]), MAX_SIDE)
    found = detect_image(crop, 1, pose_model)
    if not found:
        return det
    order = list(LEFT_RIGHT_SWAP)
    kp = found[0].keypoints2d[order].astype(np.float64)
    kp[:, :2] /= scale
    kp[:, 0] = c0 + (c1 - c0) - kp[:, 0]
    kp[:, 1] += r0
    box = box_of(kp.astype(np.float32), (w, h))
    if box is None or box_iou(box, det.box) < 0.5:
        return det
    world = found[0].world[order].astype(np.float64)
    world[:, 0] *= -1
    a, b = det.keypoints2d[:, 2:3].astype(np.float64), kp[:, 2:3]
    both = np.concatenate([(a * det.keypoints2d[:, :2] + b * kp[:, :2]) / np.maximum(a + b, 1e-6),
                           np.maximum(a, b)], 1)
    return Detection(box=det.box, keypoints2d=both.astype(np.float32),
                     world_landmarks=(0.5 * (det.world_landmarks + world)).astype(np.float32), mask=det.mask,
                     num_people=det.num_people, notes=list(det.notes))
