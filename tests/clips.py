"""Reading a test clip's frames (the rendered clips under tests/e2e/data)."""

from __future__ import annotations

import cv2


def read_frames(path) -> list:
    """Every frame of the video at `path`, decoded by OpenCV (BGR uint8 arrays)."""
    cap = cv2.VideoCapture(str(path))
    out = []
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return out
            out.append(frame)
    finally:
        cap.release()
