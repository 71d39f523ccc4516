"""Following one person through a video: chosen at the start, followed by box overlap and keypoint distance.

`PersonTracker(person=None).step(frame_rgb) -> Observation | None` per frame, in order.
- Start: the first frame with anyone in it; `person=None` takes the largest person, `person=k` the k-th from
  the left (box centres), counting from 0 (`choose_start`).
- Follow: MediaPipe's pose landmarker in VIDEO mode (inference.mediapipe_pose.VideoLandmarker: it tracks the
  landmarks from frame to frame instead of re-detecting, several times faster) on a fixed-size square crop
  around the person's last box. The crop keeps the chosen person in view and others mostly out of it. VIDEO
  mode needs increasing timestamps: the frame's time when `step` is given one, else 1/30 s a frame.
- Check: a result counts only if it is the same person (`same_person`: box IoU or keypoint distance within
  the gates); otherwise the frame is missing (None) and the tracker tries to find the person again with a full
  detection every few frames, accepting only someone near where the person was last seen.
Frames without the person give None; filling short gaps is inference.temporal's job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mediapipe_pose import DEFAULT_POSE_MODEL, VISIBLE, VideoLandmarker, box_iou, box_of

CROP_SIZE = 384  # the square crop given to MediaPipe (it works at 256 internally)
CROP_GROW = 1.5  # crop side = this x the box's longer side
IOU_GATE = 0.3  # same person if the boxes overlap this much ...
KP_GATE = 0.35  # ... or the mean keypoint distance is below this fraction of the box's longer side
REACQUIRE_EVERY = 3  # while lost: a full detection in each of the first frames, then every this many
FRAME_MS = 1000.0 / 30  # the time step between frames when `step` is not told the frame's time


@dataclass
class Observation:
    """The tracked person in one frame, full-frame pixels: box [4] (x0,y0,x1,y1), keypoints2d [33,3]
    (x, y, visibility), world [33,3] MediaPipe world landmarks (metres, camera-aligned, hip-centred)."""

    box: np.ndarray
    keypoints2d: np.ndarray
    world: np.ndarray


# ------------------------------------------------------------------------------------------- matching
def keypoint_distance(kp_a, kp_b, box) -> float:
    """Mean 2D distance of the keypoints visible in both [33,3] sets, over the longer side of `box`; inf if
    fewer than 3 are visible in both."""
    both = (kp_a[:, 2] >= VISIBLE) & (kp_b[:, 2] >= VISIBLE)
    if both.sum() < 3:
        return float("inf")
    size = max(box[2] - box[0], box[3] - box[1], 1.0)
    return float(np.linalg.norm(kp_a[both, :2] - kp_b[both, :2], axis=1).mean() / size)


def same_person(prev: Observation, cand: Observation, slack: float = 1.0) -> float | None:
    """A matching cost (lower is better) if `cand` is plausibly `prev`'s person, else None.

    slack ≥ 1 widens the gates (frames since `prev` was seen: the person may have moved further).
    """
    iou = box_iou(prev.box, cand.box)
    dist = keypoint_distance(prev.keypoints2d, cand.keypoints2d, prev.box)
    if iou >= IOU_GATE / slack or dist <= KP_GATE * slack:
        return (1.0 - iou) + min(dist, 10.0)
    return None


def choose_start(boxes, person: int | None = None) -> int:
    """Which of the boxes [N,4] to follow: the largest (person=None) or the person-th from the left."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if person is None:
        return int(np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
    order = np.argsort((boxes[:, 0] + boxes[:, 2]) / 2, kind="stable")
    if not 0 <= person < len(order):
        from .errors import BadInputError

        raise BadInputError(f"person {person} asked for, but only {len(order)} people are in the first frame "
                            f"with anyone in it (count from 0, left to right)")
    return int(order[person])


# ------------------------------------------------------------------------------------------- crops
def crop_transform(box, size: int = CROP_SIZE, grow: float = CROP_GROW) -> np.ndarray:
    """The 2x3 affine that maps full-frame pixels into a size x size square crop centred on `box`."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = max(box[2] - box[0], box[3] - box[1], 16.0) * grow
    s = size / side
    return np.array([[s, 0.0, size / 2 - s * cx], [0.0, s, size / 2 - s * cy]])


def uncrop_keypoints(kp_crop, affine) -> np.ndarray:
    """Keypoints [33,3] in crop pixels → full-frame pixels (the affine is a scale and a shift)."""
    out = np.array(kp_crop, dtype=np.float32, copy=True)
    s = affine[0, 0]
    out[:, 0] = (kp_crop[:, 0] - affine[0, 2]) / s
    out[:, 1] = (kp_crop[:, 1] - affine[1, 2]) / s
    return out


# ------------------------------------------------------------------------------------------- tracker
class PersonTracker:
    """Follows one person; `step(frame)` per frame in order → Observation or None. `notes`: for the user.

    pose_model: "full" or "heavy" (inference.mediapipe_pose.POSE_MODELS), for both detection and following.
    """

    def __init__(self, person: int | None = None, pose_model: str = DEFAULT_POSE_MODEL):
        self.person = person
        self.pose_model = pose_model
        self.last: Observation | None = None  # the last frame the person was seen in
        self.lost = 0  # frames since then
        self.started = False
        self.notes: list[str] = []
        self.frames = 0  # frames stepped so far
        self._video = VideoLandmarker(pose_model)

    def close(self) -> None:
        self._video.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def step(self, rgb: np.ndarray, time_s: float | None = None) -> Observation | None:
        """The next frame (H,W,3) uint8 RGB, at time_s seconds if known → the person's Observation or None."""
        h, w = rgb.shape[:2]
        time_ms = round(1000.0 * time_s) if time_s is not None else round(self.frames * FRAME_MS)
        self.frames += 1
        if not self.started:
            found = self._start(rgb)
        elif self.last is not None and self.lost == 0:
            found = self._follow(rgb, (w, h), time_ms)
            if found is None:
                found = self._reacquire(rgb)
        elif self.lost < REACQUIRE_EVERY or self.lost % REACQUIRE_EVERY == 0:  # soon after, then now and then
            found = self._reacquire(rgb)
        else:
            found = None
        if found is None:
            self.lost += 1
            return None
        self.last, self.lost = found, 0
        return found

    def _start(self, rgb) -> Observation | None:
        people = find_people(rgb, self.pose_model)
        if not people:
            return None
        k = choose_start([p.box for p in people], self.person)
        self.started = True
        if len(people) > 1:
            which = "the largest" if self.person is None else f"person {self.person} from the left"
            self.notes.append(f"{len(people)} people in the first frame with anyone in it; following {which}")
        self._video.reset()
        return people[k]

    def _follow(self, rgb, size, time_ms) -> Observation | None:
        import cv2

        affine = crop_transform(self.last.box)
        crop = cv2.warpAffine(rgb, affine, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        pose = self._video.detect(crop, time_ms)
        if pose is None:
            return None
        kp = uncrop_keypoints(pose.keypoints2d, affine)
        box = box_of(kp, size)
        if box is None:
            return None
        cand = Observation(box=box, keypoints2d=kp, world=pose.world)
        return cand if same_person(self.last, cand) is not None else None

    def _reacquire(self, rgb) -> Observation | None:
        if self.last is None:
            return None
        people = find_people(rgb, self.pose_model)
        slack = 1.0 + 0.2 * self.lost
        scored = [(c, p) for p in people if (c := same_person(self.last, p, slack)) is not None]
        if not scored:
            return None
        self._video.reset()  # the tracked region was lost: start VIDEO mode afresh on the found person
        return min(scored, key=lambda cp: cp[0])[1]


def find_people(rgb, pose_model: str = DEFAULT_POSE_MODEL) -> list[Observation]:
    """Everyone inference.detect finds in a frame, as Observations (the same rules as for photos)."""
    from .detect import detect_people

    found = detect_people(rgb, pose_model=pose_model)
    return [Observation(box=np.asarray(d.box, np.float32), keypoints2d=np.asarray(d.keypoints2d, np.float32),
                        world=np.asarray(d.world_landmarks, np.float32)) for d in found]
