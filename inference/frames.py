"""Frames in: video files (anything OpenCV decodes) and folders of numbered images, streamed in chunks.

Memory stays flat however long the video is: `FrameSource.chunks()` yields at most `chunk_size` decoded
frames at a time. The real frame rate is kept as a float (29.97 stays 29.97; `fps_fraction` gives
30000/1001). Frames are RGB uint8 [H,W,3], already turned upright by the file's rotation metadata.
A video that breaks off raises `FrameReadError` after every frame before the fault has been yielded.

Time comes from the frames' own timestamps (OpenCV's CAP_PROP_POS_MSEC, read once when the file is opened, from the
packets without decoding where it can: read_timestamps),
not from the container's frame count and rate, which are wrong for variable-frame-rate files (a WebM states
its duration times a nominal rate), flatten a VFR mp4 to its average rate, and are absent or absurd for raw
streams (a `.h264` file states -2.3e14 frames). `video_timeline` decides:
- even timestamps: frame i at i / fps, fps the container's (when it agrees with the timestamps) - as before;
- uneven ones (a frame more than half a frame away from where a constant rate puts it): the video is resampled
  by time to a constant rate (the usual gap between frames), each output frame being the source frame nearest
  in time (a drop repeats a neighbour), and `VideoInfo.timing` says so;
- no usable timestamps (raw streams): the stated rate (else 30 fps) and every frame until the stream ends.
Truncation is claimed only when the container's count is trustworthy (constant rate, positive, not absurd) and
more than the frames that decode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from .conventions import snap_fps  # where the container-rounding rule lives
from pathlib import Path

import numpy as np

from .errors import BadInputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
DEFAULT_FOLDER_FPS = 30.0
MAX_CONTAINER_FRAMES = 10 ** 8  # a stated count above this (38 days at 30 fps) is not believed
SCAN_MARGIN_S = 1.0  # with an end time, timestamps are read this far beyond it


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
    frame_count: int  # frames on the timeline (a truncated constant-rate file: as its container states)
    width: int  # upright, after rotation
    height: int
    rotation: int  # degrees clockwise applied to make frames upright (0, 90, 180, 270)
    timing: str = ""  # how the frames' times were found, when not simply the container's constant rate

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

    def __init__(self, path, fps: float | None = None, until: float | None = None):
        import cv2

        self._source_of = None  # timeline index -> source frame index, when resampled
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
            count = float(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0)
            if w <= 0 or h <= 0:
                raise BadInputError(f"{self.path.name} has no decodable video stream")
            stamps, at_end = read_timestamps(self.path, cap, src_fps, until)
        finally:
            cap.release()
        if not len(stamps):
            raise BadInputError(f"{self.path.name} holds no decodable frame")
        if rotation in (90, 270):
            w, h = h, w
        line = video_timeline(stamps, src_fps, count, at_end, fps)
        self._source_of = line.source_of
        self.info = VideoInfo(self.path, "video", line.fps, line.frame_count, w, h, rotation, line.note)

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
        last = (None, None)  # (source index, frame): a resampled timeline may show one frame twice
        try:
            pos = 0
            for i in wanted:
                src = i if self._source_of is None else int(self._source_of[i])
                if src == last[0]:
                    yield i, last[1]
                    continue
                while pos < src:  # skip by grabbing (no decode to RGB); exact, unlike seeking
                    if not cap.grab():
                        raise FrameReadError(self._stopped(pos), pos)
                    pos += 1
                ok, bgr = cap.read()
                if not ok or bgr is None:
                    raise FrameReadError(self._stopped(i), i)
                pos += 1
                last = (src, rotate_frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), self.info.rotation))
                yield i, last[1]
        finally:
            cap.release()

    def _stopped(self, index: int) -> str:
        return (f"{self.path.name}: decoding stopped at frame {index} of {self.info.frame_count} "
                f"(the file is truncated or corrupt)")


@dataclass
class Timeline:
    """fps: the constant rate of the timeline; frame_count: its length; source_of: None (frame i is source
    frame i) or [frame_count] int source indices (resampled); note: "" or what was done and why."""

    fps: float
    frame_count: int
    source_of: np.ndarray | None
    note: str


def read_timestamps(path, cap, stated_fps: float, until: float | None):
    """Every frame's timestamp → (seconds [N] in presentation order, reached the end).

    First from the packets alone (OpenCV's raw mode: no decoding, ~500x cheaper: 1 ms instead of 0.7 s CPU for
    312 frames of 812x720 H.264), sorted (B-frames come in decode order); where that mode is missing or its
    stamps are not usable times (a raw stream's are one constant), every frame is grabbed (decoded) instead, as
    before. path: the file of `cap` (opened, nothing grabbed yet). Both ways give the same times on the
    containers tested (tests/unit/test_frames.py: B-frames, variable rates, MJPEG, WebM, MKV); the packets may
    include a last one cut short, which the reader then reports as a truncated file.
    until: stop SCAN_MARGIN_S past this time (seconds from the first frame), as the frames after it are not
    wanted (from packets: keep half that margin, the packets of frames shown earlier than the last one read
    having all come by then); a stream without timestamps counts time by its stated rate.
    """
    import cv2

    packets = cv2.VideoCapture(str(path))  # a second capture: raw mode is set before the first grab
    try:
        if packets.isOpened() and packets.set(cv2.CAP_PROP_FORMAT, -1):
            stamps, at_end = _scan(packets, stated_fps, until)
            stamps = np.sort(stamps)
            if not at_end and len(stamps):  # stopped early: B-frames shown before the last packet may be unread
                stamps = stamps[stamps <= stamps[0] + until + SCAN_MARGIN_S / 2]
            if len(stamps) and np.isfinite(stamps).all() and (len(stamps) < 2 or (np.diff(stamps) > 0).all()):
                return stamps, at_end
    finally:
        packets.release()
    return _scan(cap, stated_fps, until)


def _scan(cap, stated_fps: float, until: float | None):
    """Grab frames (or packets, in raw mode) to the end or SCAN_MARGIN_S past `until` → (seconds [N], at end)."""
    import cv2

    rate = stated_fps if 0 < stated_fps <= 1000 else DEFAULT_FOLDER_FPS
    stamps = []
    first = None
    while True:
        if until is not None and stamps:
            t = stamps[-1] - first  # packets come in decode order: the earliest so far is the start
            if t <= 0:
                t = len(stamps) / rate
            if t > until + SCAN_MARGIN_S:
                return np.asarray(stamps, float), False
        if not cap.grab():
            return np.asarray(stamps, float), True
        stamps.append(float(cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0) / 1000.0)
        first = stamps[-1] if first is None else min(first, stamps[-1])


def video_timeline(stamps, stated_fps: float, stated_count: float, at_end: bool = True,
                   fps: float | None = None) -> Timeline:
    """Where each frame of a video lies in time, from its frames' timestamps (seconds, decode order).

    stated_fps / stated_count: the container's rate and frame count (either may be absent, wrong or absurd);
    at_end: the timestamps run to the end of the file (else only to the wanted end time); fps: a rate to use
    instead of the found one.
    """
    stamps = np.asarray(stamps, float)
    n = len(stamps)
    stated_ok = bool(np.isfinite(stated_fps) and 0 < stated_fps <= 1000)
    dt = np.diff(stamps)
    if n >= 2 and not (np.isfinite(stamps).all() and (dt > 0).all()):
        rate = float(fps or (snap_fps(stated_fps) if stated_ok else DEFAULT_FOLDER_FPS))
        return Timeline(rate, n, None, f"the frames carry no usable timestamps: read all {n} "
                                       f"frames to the end at {'its stated' if stated_ok else 'an assumed'} "
                                       f"{rate:.3f} fps")
    if n >= 2:
        average = (n - 1) / (stamps[-1] - stamps[0])
        even = np.abs(stamps - stamps[0] - np.arange(n) / average).max() <= 0.5 / average
    else:
        average, even = (stated_fps if stated_ok else DEFAULT_FOLDER_FPS), True
    if even:
        rate = snap_fps(stated_fps) if stated_ok and abs(stated_fps - average) <= 0.02 * average else average
        rate = float(fps or snap_fps(rate))
        trusted = 0 < stated_count <= MAX_CONTAINER_FRAMES and stated_ok
        # A trusted count longer than what decodes is a truncated file: the reader reports where it stops.
        count = int(stated_count) if trusted and (stated_count > n or not at_end) else n
        return Timeline(rate, count, None, "")
    rate = float(fps or nominal_rate(dt))
    k = int(np.floor((stamps[-1] - stamps[0]) * rate + 0.5)) + 1
    t = stamps[0] + np.arange(k) / rate
    right = np.clip(np.searchsorted(stamps, t), 1, n - 1)
    source_of = np.where(np.abs(stamps[right] - t) < np.abs(t - stamps[right - 1]), right, right - 1)
    repeats = int(k - len(np.unique(source_of)))
    dropped = int(n - len(np.unique(source_of)))
    note = (f"variable frame rate ({1 / dt.max():.1f}-{1 / dt.min():.1f} fps, {n} frames over "
            f"{stamps[-1] - stamps[0]:.2f} s): resampled by time to a constant {rate:.3f} fps, {k} frames "
            f"({repeats} repeat a neighbour, {dropped} source frames skipped)")
    return Timeline(rate, k, source_of.astype(np.int64), note)


def nominal_rate(dt) -> float:
    """The usual rate of uneven frame gaps: the mean of the gaps near the median (ms-rounded stamps average
    out), snapped to a whole or NTSC rate when within 0.5%."""
    dt = np.asarray(dt, float)
    med = float(np.median(dt))
    rate = 1.0 / float(dt[np.abs(dt - med) <= 0.1 * med].mean())
    if abs(rate - round(rate)) <= 0.005 * rate:
        return float(round(rate))
    return snap_fps(rate)


def open_frames(path, fps: float | None = None, until: float | None = None) -> FrameSource:
    """Open a video file or a folder of numbered images. `fps` overrides (folders default to 30). until: the
    last time (seconds) wanted, so that a video's timestamps are read only a little beyond it."""
    return FrameSource(path, fps=fps, until=until)
