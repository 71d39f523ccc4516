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


FLOOR_M_PER_PX = 0.01  # the floor and wall canvases' texel size, metres


def render_room(floor: np.ndarray, wall: np.ndarray, turn: np.ndarray, centre, height: float = 1.6,
                wall_distance: float = 12.0) -> np.ndarray:
    """The W x H frame of a camera that moves (a 3D scene, unlike `render`): X_frame = turn (X - centre) for X in
    level coordinates (x right, y down, z forward; the first camera's centre at the origin), seen above a
    textured floor (y = height, z from 0.5 m to wall_distance) in front of a textured wall (z = wall_distance).
    Each plane is its canvas (FLOOR_M_PER_PX metres a texel) mapped by its own homography; the floor hides the
    wall where it is nearer (below the wall's foot)."""
    import cv2

    s, c = FLOOR_M_PER_PX, np.asarray(centre, dtype=np.float64)
    fh, fw = floor.shape[:2]
    on_floor = np.array([[s, 0, -fw / 2 * s], [0, 0, height], [0, s, wall_distance - fh * s]])  # texel → X
    wh, ww = wall.shape[:2]
    on_wall = np.array([[s, 0, -ww / 2 * s], [0, s, height - wh * s], [0, 0, wall_distance]])
    out = []
    for plane, canvas in ((on_wall, wall), (on_floor, floor)):
        hom = intrinsics() @ turn @ (plane - np.outer(c, [0, 0, 1]))
        img = cv2.warpPerspective(canvas, hom, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        seen = cv2.warpPerspective(np.full(canvas.shape[:2], 255, np.uint8), hom, (W, H), flags=cv2.INTER_NEAREST)
        out.append((img, seen > 0))
    (wall_img, _), (floor_img, floor_seen) = out
    return np.where(floor_seen[..., None], floor_img, wall_img)
