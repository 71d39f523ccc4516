"""Frames in: video files (anything OpenCV decodes) and folders of numbered images, streamed in chunks.

Memory stays flat however long the video is: `FrameSource.chunks()` yields at most `chunk_size` decoded
frames at a time. The real frame rate is kept as a float (29.97 stays 29.97; `fps_fraction` gives
30000/1001). Frames are RGB uint8 [H,W,3], already turned upright by the file's rotation metadata.
A video that breaks off raises `FrameReadError` after every frame before the fault has been yielded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from .conventions import snap_fps  # noqa: F401  (where the container-rounding rule lives)
from pathlib import Path

import numpy as np

from .errors import BadInputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
DEFAULT_FOLDER_FPS = 30.0


class FrameReadError(BadInputError):
    """Decoding stopped early. `frame_index` is the first frame that could not be read."""

    exit_code = 1

    def __init__(self, message: str, frame_index: int):
        super().__init__(message)
        self.frame_index = frame_index


@dataclass
class VideoInfo:
    path: Path
    kind: str  # "video" | "images"
    fps: float
    frame_count: int  # as the container states it (a broken file may hold fewer)
    width: int  # upright, after rotation
    height: int
    rotation: int  # degrees clockwise applied to make frames upright (0, 90, 180, 270)

    @property
    def fps_fraction(self) -> Fraction:
        """The frame rate as a small fraction: 29.97... → 30000/1001, 25 → 25/1."""
        from .conventions import fps_rational

        return fps_rational(self.fps)

    @property
    def duration(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0


@dataclass
class Chunk:
    """indices [N] (frame numbers in the source), times [N] (seconds), frames [N,H,W,3] uint8 RGB."""

    indices: np.ndarray
    times: np.ndarray
    frames: np.ndarray


def _natural_key(path: Path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


def rotate_frame(frame: np.ndarray, rotation: int) -> np.ndarray:
    return frame if rotation == 0 else np.ascontiguousarray(np.rot90(frame, k=-(rotation // 90)))


class FrameSource:
    """A video file or an image folder; `open_frames(path)` makes one."""

    def __init__(self, path, fps: float | None = None):
        import cv2

        self.path = Path(path)
        if not self.path.exists():
            raise BadInputError(f"{self.path} does not exist")
        if self.path.is_dir():
            self._files = sorted((p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                                 key=_natural_key)
            if not self._files:
                raise BadInputError(f"{self.path} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
            first = cv2.imread(str(self._files[0]), cv2.IMREAD_COLOR)
            if first is None:
                raise BadInputError(f"{self._files[0]} is not a readable image")
            self.info = VideoInfo(self.path, "images", float(fps or DEFAULT_FOLDER_FPS), len(self._files),
                                  first.shape[1], first.shape[0], 0)
            return
        if self.path.stat().st_size == 0:
            raise BadInputError(f"{self.path} is empty")
        cap = cv2.VideoCapture(str(self.path))
        try:
            if not cap.isOpened():
                raise BadInputError(f"{self.path.name} is not a video OpenCV can decode")
            # We rotate ourselves so that the rotation is known and applied exactly once.
            cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
            rotation = int(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
            w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            src_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        finally:
            cap.release()
        if w <= 0 or h <= 0:
            raise BadInputError(f"{self.path.name} has no decodable video stream")
        if rotation in (90, 270):
            w, h = h, w
        self.info = VideoInfo(self.path, "video", float(fps or snap_fps(src_fps) or DEFAULT_FOLDER_FPS), count,
                              w, h, rotation)

    def frame_range(self, start: float = 0.0, end: float | None = None, stride: int = 1) -> range:
        """Frame indices for the time range [start, end) in seconds, every `stride`-th frame."""
        if stride < 1:
            raise BadInputError("stride must be at least 1")
        first = max(0, int(round(start * self.info.fps)))
        last = self.info.frame_count if end is None else min(self.info.frame_count,
                                                             int(round(end * self.info.fps)))
        if last <= first:
            raise BadInputError(f"the time range {start}–{end} s holds no frames of {self.path.name} "
                                f"({self.info.duration:.2f} s long)")
        return range(first, last, stride)

    def chunks(self, start: float = 0.0, end: float | None = None, stride: int = 1, chunk_size: int = 32):
        """Yield Chunks of at most `chunk_size` frames; raises FrameReadError where decoding breaks off."""
        wanted = self.frame_range(start, end, stride)
        reader = self._read_images if self.info.kind == "images" else self._read_video
        buf_i, buf_f = [], []
        for index, frame in reader(wanted):
            buf_i.append(index)
            buf_f.append(frame)
            if len(buf_i) == chunk_size:
                yield self._chunk(buf_i, buf_f)
                buf_i, buf_f = [], []
        if buf_i:
            yield self._chunk(buf_i, buf_f)

    def _chunk(self, indices, frames) -> Chunk:
        idx = np.asarray(indices)
        return Chunk(indices=idx, times=idx / self.info.fps, frames=np.stack(frames))

    def _read_images(self, wanted: range):
        import cv2

        for i in wanted:
            bgr = cv2.imread(str(self._files[i]), cv2.IMREAD_COLOR)
            if bgr is None:
                raise FrameReadError(f"{self._files[i].name} (frame {i}) is not a readable image", i)
            if bgr.shape[:2] != (self.info.height, self.info.width):
                raise FrameReadError(f"{self._files[i].name} (frame {i}) is {bgr.shape[1]}x{bgr.shape[0]}, "
                                     f"the others {self.info.width}x{self.info.height}", i)
            yield i, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def _read_video(self, wanted: range):
        import cv2

        cap = cv2.VideoCapture(str(self.path))
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
        try:
            pos = 0
            for i in wanted:
                while pos < i:  # skip by grabbing (no decode to RGB); exact, unlike seeking
                    if not cap.grab():
                        raise FrameReadError(f"{self.path.name}: decoding stopped at frame {pos} of "
                                             f"{self.info.frame_count} (the file is truncated or corrupt)", pos)
                    pos += 1
                ok, bgr = cap.read()
                if not ok or bgr is None:
                    raise FrameReadError(f"{self.path.name}: decoding stopped at frame {i} of "
                                         f"{self.info.frame_count} (the file is truncated or corrupt)", i)
                pos += 1
                yield i, rotate_frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), self.info.rotation)
        finally:
            cap.release()


def open_frames(path, fps: float | None = None) -> FrameSource:
    """Open a video file or a folder of numbered images. `fps` overrides (folders default to 30)."""
    return FrameSource(path, fps=fps)
