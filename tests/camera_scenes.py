"""Generated video frames seen by a turning camera (for the camera-motion tests): a textured far scene rendered
by a homography K R K⁻¹ from a wide canvas, so that the true camera turn of every frame is known."""

from __future__ import annotations

import numpy as np

W, H, F = 640, 480, 600.0  # frame size and focal length, px


def texture(seed=0, width=1600, height=1200) -> np.ndarray:
    """A wide RGB canvas with texture at several scales (blurred noise plus random rectangles and discs)."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.zeros((height, width, 3), np.float32)
    for scale in (4, 16, 64):
        noise = rng.random((height // scale + 1, width // scale + 1, 3)).astype(np.float32)
        img += cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    img = img / 3 * 160
    for _ in range(300):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        colour = tuple(float(c) for c in rng.integers(0, 255, 3))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(8, 60)), y + int(rng.integers(8, 60))), colour, -1)
        else:
            cv2.circle(img, (x, y), int(rng.integers(4, 30)), colour, -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def intrinsics(width=W, height=H, focal=F) -> np.ndarray:
    return np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1.0]])


def render(canvas: np.ndarray, turn: np.ndarray) -> np.ndarray:
    """The W x H frame of a camera turned by `turn` (X_frame = turn X_canvas-camera) looking at the canvas's
    centre; the canvas is the image of the same camera, unturned, with a wider field of view."""
    import cv2

    k_in = intrinsics(canvas.shape[1], canvas.shape[0])
    hom = intrinsics() @ turn @ np.linalg.inv(k_in)
    return cv2.warpPerspective(canvas, hom, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def euler(yaw_deg, pitch_deg, roll_deg) -> np.ndarray:
    """A camera turn from yaw (about the camera's y), pitch (about x) and roll (about z), degrees."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_euler("yxz", [yaw_deg, pitch_deg, roll_deg], degrees=True).as_matrix()
