"""Hostile media, made at test time: variable-frame-rate WebM and MP4 clips, raw H.264 streams, and
file systems that refuse writes (read-only, full). Nothing here is committed as a binary.

The clips are encoded with the ffmpeg binary shipped in the `imageio-ffmpeg` wheel (pinned in requirements.txt);
`ffmpeg_exe()` returns None when it is not installed, and the tests that need it skip.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import numpy as np


def ffmpeg_exe() -> str | None:
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:
        return None


def bar_frame(k: int, w: int = 256, h: int = 64) -> np.ndarray:
    """A BGR frame whose content encodes k (a bright bar at column 4k, modulo the width), robust to compression."""
    f = np.full((h, w, 3), 30, np.uint8)
    c = (4 * k) % w
    f[:, c: c + 4] = 230
    return f


def bar_of(frame) -> int:
    """The k of bar_frame (modulo width/4)."""
    return int(np.argmax(np.asarray(frame)[:, :, 0].mean(0)) // 4)


def encode(path, frames, keep=None, fps: float = 30.0, codec: str | None = None) -> Path:
    """Encode BGR `frames` (all the same size), frame k shown at time k / fps, keeping only the indices in
    `keep` (default all): dropping frames leaves uneven gaps between the kept ones' timestamps, which the
    output keeps (`-fps_mode passthrough`), as a phone does when it lowers its rate in the dark.

    The container is chosen by the suffix: .webm (VP8), .mp4 / .mkv (H.264), .h264 (a raw Annex-B stream: no
    container, no frame count, no timestamps), .avi (MJPEG).
    """
    exe = ffmpeg_exe()
    if exe is None:
        raise RuntimeError("ffmpeg is not available (pip install imageio-ffmpeg)")
    path = Path(path)
    h, w = frames[0].shape[:2]
    keep = sorted(set(range(len(frames)) if keep is None else keep))
    expr = "+".join(f"eq(n,{k})" for k in keep)
    suffix = path.suffix.lower()
    codec = codec or {".webm": "libvpx", ".mp4": "libx264", ".mkv": "libx264", ".h264": "libx264",
                      ".avi": "mjpeg"}[suffix]
    args = [exe, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
            "-s", f"{w}x{h}", "-r", f"{fps}", "-i", "-", "-vf", f"select='{expr}'", "-fps_mode", "passthrough",
            "-c:v", codec, "-pix_fmt", "yuvj420p" if codec == "mjpeg" else "yuv420p"]
    if codec == "libvpx":
        args += ["-b:v", "2M", "-auto-alt-ref", "0"]
    if codec.startswith("libx264"):
        args += ["-preset", "ultrafast", "-g", "10"]
    if suffix == ".h264":
        args += ["-f", "h264"]
    data = b"".join(np.ascontiguousarray(f, np.uint8).tobytes() for f in frames)
    subprocess.run([*args, str(path)], input=data, check=True, capture_output=True, timeout=120)
    return path


def vfr_keep(n_fast: int, n_slow: int, step: int = 3) -> list[int]:
    """Indices to keep: the first n_fast frames, then every `step`-th of the next n_slow * step (30 fps, then
    10 fps with step 3: a phone dropping its rate)."""
    return list(range(n_fast)) + list(range(n_fast + step - 1, n_fast + n_slow * step, step))


def fill_up(path) -> int:
    """Write zeros to `path` until its file system is full → bytes written (a full disk, made on a tmpfs)."""
    written = 0
    with open(path, "wb", buffering=0) as fh:
        try:
            while True:
                written += fh.write(b"\0" * 4096)
        except OSError:
            pass
    return written


@contextlib.contextmanager
def small_tmpfs(path, size: str = "64k", read_only: bool = False):
    """Mount a tmpfs of `size` at `path` (created) for the duration; read_only mounts it `ro` (a root process
    cannot be kept out of a folder by its mode bits, but a read-only mount refuses even root).

    Raises PermissionError (or OSError) when mounting is not allowed here; callers skip on it.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if read_only else "")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True, text=True)
    if res.returncode != 0:
        raise PermissionError(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
