"""The camera's rotation through a video, from the background: `CameraTracker` (one step a frame, a few ms).

Each frame is turned grey and shrunk to WORK_WIDTH pixels; corners (cv2.goodFeaturesToTrack) found outside the
tracked person's box (grown by BOX_GROW, so that the person's own motion does not count as the camera's) are
followed into the next frame by pyramidal Lucas-Kanade flow (cv2.calcOpticalFlowPyrLK). A RANSAC homography
between the two frames' corners is, for a camera that mostly turns (pan, tilt, roll: a phone in hand, a
tripod head) or a far background, H = K R K⁻¹ with R the camera's turn between the frames; R is the nearest
rotation to K⁻¹ H K (SVD). The turns are chained into the camera-to-camera-0 rotation of every frame.
A camera that travels (walking, a dolly) breaks that model: the floor's homography is K (R + t nᵀ/d) K⁻¹.
So the floor (the corners in the lower half, with a corner budget of their own) gets its own homography,
decomposed (floor_motion): where a decomposition's plane faces the camera's image-up, its R and t/d (the step
in units of the floor's distance) are taken; the steps, chained and filled where unknown, give each frame's
camera centre (`motion()`); inference.world_frame scales them by the camera's height.

Guards: too few corners or inliers (a textureless sky, a blank wall, a dark or blurred frame), or a turn larger
than MAX_TURN_DEG between two frames, count as no turn (identity); `notes` then say in how many frames.
"""

from __future__ import annotations

import numpy as np

WORK_WIDTH = 320  # px: frames are analysed at this width (the speed of the whole step depends on it)
MAX_CORNERS = 200
MIN_INLIERS = 24  # fewer: no trustworthy turn in this frame
BOX_GROW = 1.25  # the person's box is masked out grown by this factor (limbs outside the detector's box)
MAX_TURN_DEG = 12.0  # between two frames; more is a failed fit (or a cut), taken as no turn
RANSAC_PX = 1.0  # px at WORK_WIDTH


def nearest_rotation(m: np.ndarray) -> np.ndarray:
    """The rotation closest to the 3x3 matrix m (Frobenius norm), by SVD (determinant +1)."""
    u, _, vt = np.linalg.svd(np.asarray(m, dtype=np.float64))
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def rotation_from_homography(h: np.ndarray, k: np.ndarray) -> np.ndarray:
    """A homography h between two views of a turning camera (x₂ ~ h x₁, pixels) and its intrinsics k [3,3] →
    R [3,3] with X₂ = R X₁ (camera coordinates of the same point in the two frames)."""
    m = np.linalg.inv(k) @ np.asarray(h, dtype=np.float64) @ k
    det = np.linalg.det(m)
    if not np.isfinite(det) or abs(det) < 1e-12:
        return np.eye(3)
    m = m / np.cbrt(det)
    return nearest_rotation(m)


def turn_degrees(r: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(r) - 1) / 2, -1.0, 1.0))))


FLOOR_MIN = 16  # floor corners (below the image centre) needed for a translation
FLOOR_NORMAL_COS = 0.8  # the plane found must face the camera's "up" (image y) within ~37°: the floor
STILL_STEP = 0.01  # floor distances per frame (1.6 cm at 1.6 m: 0.5 m/s at 30 fps); below, the camera only turns
MAX_STEP = 0.2  # floor distances per frame (a camera 1.6 m high: 10 m/s); more is a failed fit


def floor_motion(a, b, k, r):
    """Corners a → b [N,2] (pixels) between two frames and the pure-turn estimate r → (turn, move): the camera's
    turn and translation (X₂ = turn X₁ + move, move in units of the floor's distance from the first camera).

    A camera that moves sees the floor by the homography K (R + t nᵀ/d) K⁻¹, whose pure-turn reading is wrong by
    the parallax; its decomposition (cv2.decomposeHomographyMat) gives R, t/d and n. The floor's corners are
    those in the lower half of the image (a camera looks at people standing on it); of the decompositions, the
    one whose plane faces the camera's image-up is taken, and only when it does (else a wall, or no parallax:
    the pure turn r and no move)."""
    import cv2

    low = a[:, 1] > k[1, 2]
    if low.sum() < FLOOR_MIN:
        return r, None
    h, inl = cv2.findHomography(a[low], b[low], cv2.RANSAC, RANSAC_PX, maxIters=500, confidence=0.995)
    if h is None or inl is None or int(inl.sum()) < FLOOR_MIN:
        return r, None
    _, rs, ts, ns = cv2.decomposeHomographyMat(h, k)
    best = None
    for rr, tt, nn in zip(rs, ts, ns):
        nn = nn.reshape(3)
        if nn[1] < FLOOR_NORMAL_COS:  # the floor below: its normal (towards the plane) along image-down
            continue
        if best is None or nn[1] > best[2][1]:
            best = (rr, tt.reshape(3), nn)
    if best is None or turn_degrees(best[0].T @ r) > 2.0 or np.linalg.norm(best[1]) > MAX_STEP:
        return r, None
    if np.linalg.norm(best[1]) < STILL_STEP:  # hardly moved: the turn from all corners is the steadier one
        return r, best[1]
    return nearest_rotation(best[0]), best[1]


class CameraTracker:
    """Feed frames in order with `step(rgb, box)`; `rotations()` gives [T,3,3] rotations R_t from frame t's
    camera to frame 0's camera (X₀ = R_t X_t), identity for the first frame.

    focal, width, height: the video's pinhole camera in full-frame pixels (principal point at the centre).
    box: the tracked person's box (x0, y0, x1, y1) in full-frame pixels, or None when no one is tracked.
    """

    def __init__(self, focal: float, width: float, height: float):
        self.scale = min(1.0, WORK_WIDTH / float(width))
        f = float(focal) * self.scale
        self.k = np.array([[f, 0, width * self.scale / 2], [0, f, height * self.scale / 2], [0, 0, 1.0]])
        self.size = (max(1, int(round(width * self.scale))), max(1, int(round(height * self.scale))))
        self.prev = None  # (grey frame, corners [N,1,2] float32)
        self.chain = [np.eye(3)]
        self.steps = [np.zeros(3)]  # camera centre's move into frame t, camera 0's axes, floor distances; NaN: unknown
        self.failed = 0  # frames whose turn could not be measured

    def step(self, rgb: np.ndarray, box=None) -> np.ndarray:
        """One frame → its rotation to frame 0's camera (the first frame gives identity)."""
        import cv2

        grey = cv2.cvtColor(cv2.resize(rgb, self.size, interpolation=cv2.INTER_LINEAR), cv2.COLOR_RGB2GRAY)
        mask = self._mask(box)
        if self.prev is not None:
            found = self._turn(self.prev, grey)
            if found is None:
                self.failed += 1
                found = (np.eye(3), np.zeros(3))
            turn, move = found  # move None: the floor gave no translation (filled from the frames around)
            # X_t = turn X_{t-1} + move  →  X_0 = R_{t-1} X_{t-1} + c_{t-1} = R_{t-1} turnᵀ (X_t - move) + c_{t-1}
            self.chain.append(nearest_rotation(self.chain[-1] @ turn.T))
            self.steps.append(np.full(3, np.nan) if move is None else -self.chain[-1] @ move)
        corners = cv2.goodFeaturesToTrack(grey, MAX_CORNERS, 0.01, 7, mask=mask, blockSize=5)
        # the floor (lower half) gets corners of its own: a plain floor loses them to a textured wall
        floor_mask = np.full(self.size[::-1], 255, np.uint8) if mask is None else mask.copy()
        floor_mask[: self.size[1] // 2 + 1] = 0
        low = cv2.goodFeaturesToTrack(grey, MAX_CORNERS // 2, 0.001, 7, mask=floor_mask, blockSize=5)
        if low is not None:
            corners = low if corners is None else np.concatenate([corners, low])
        self.prev = (grey, corners)
        return self.chain[-1]

    def skip(self) -> np.ndarray:
        """A frame that could not be looked at (not decoded): no turn, and the next one is measured afresh
        against the last frame seen."""
        self.failed += 1
        self.chain.append(self.chain[-1].copy())
        self.steps.append(np.full(3, np.nan))
        return self.chain[-1]

    def rotations(self) -> np.ndarray:
        return np.stack(self.chain)

    def motion(self) -> np.ndarray:
        """[T,3,4]: rotations() beside each frame's camera centre in camera 0's coordinates, in units of the
        floor's distance from the camera (0 where the floor's parallax gave no translation)."""
        steps = np.stack(self.steps)
        known = np.isfinite(steps[:, 0])
        known[0] = True
        idx = np.arange(len(steps))
        steps = np.stack([np.interp(idx, idx[known], steps[known, i]) for i in range(3)], axis=1)
        return np.concatenate([self.rotations(), np.cumsum(steps, axis=0)[:, :, None]], axis=2)

    @property
    def notes(self) -> list[str]:
        if not self.failed:
            return []
        return [f"camera motion: no turn measured in {self.failed} of {len(self.chain)} frames (too little "
                "texture outside the person, or a jump); the camera was held still there"]

    def _mask(self, box):
        if box is None:
            return None
        x0, y0, x1, y1 = (np.asarray(box, dtype=np.float64) * self.scale).tolist()
        cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2 * BOX_GROW, (y1 - y0) / 2 * BOX_GROW
        mask = np.full(self.size[::-1], 255, np.uint8)
        mask[max(0, int(cy - hh)): max(0, int(cy + hh) + 1), max(0, int(cx - hw)): max(0, int(cx + hw) + 1)] = 0
        return mask

    def _turn(self, prev, grey):
        import cv2

        old_grey, corners = prev
        if corners is None or len(corners) < MIN_INLIERS:
            return None
        new, status, _ = cv2.calcOpticalFlowPyrLK(old_grey, grey, corners, None, winSize=(13, 13), maxLevel=2)
        if new is None:
            return None
        ok = status.reshape(-1).astype(bool)
        if ok.sum() < MIN_INLIERS:
            return None
        a, b = corners.reshape(-1, 2)[ok], new.reshape(-1, 2)[ok]
        h, inliers = cv2.findHomography(a, b, cv2.RANSAC, RANSAC_PX, maxIters=500, confidence=0.995)
        if h is None or inliers is None or int(inliers.sum()) < MIN_INLIERS:
            return None
        r = rotation_from_homography(h, self.k)
        if turn_degrees(r) > MAX_TURN_DEG:
            return None
        return floor_motion(a, b, self.k, r)
