"""Streamed frames: fps kept exactly, ranges and strides, folders, truncated files, flat memory."""

from pathlib import Path

import numpy as np
import pytest

from inference.errors import BadInputError
from inference.frames import FrameReadError, open_frames

cv2 = pytest.importorskip("cv2")


def _frame(k, w=96, h=64):
    """A frame whose content encodes k (a bright bar at column 4k), robust to compression."""
    f = np.full((h, w, 3), 30, np.uint8)
    f[:, 4 * k: 4 * k + 4] = 230
    return f


def _write_video(path: Path, n=20, fps=30000 / 1001, size=(96, 64)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for k in range(n):
        writer.write(_frame(k, *size))
    writer.release()
    return path


def _bar_of(frame):
    return int(np.argmax(frame[:, :, 0].mean(0)) // 4)


@pytest.fixture
def video(tmp_path):
    return _write_video(tmp_path / "clip.avi")


def test_ntsc_fps_stays_2997(video):
    src = open_frames(video)
    assert abs(src.info.fps - 30000 / 1001) < 1e-6
    assert src.info.fps_fraction.numerator == 30000 and src.info.fps_fraction.denominator == 1001
    assert src.info.frame_count == 20 and (src.info.width, src.info.height) == (96, 64)


def test_chunks_range_and_stride(video):
    src = open_frames(video)
    chunks = list(src.chunks(stride=3, chunk_size=4))
    idx = np.concatenate([c.indices for c in chunks])
    assert idx.tolist() == list(range(0, 20, 3)) and max(len(c.indices) for c in chunks) == 4
    frames = np.concatenate([c.frames for c in chunks])
    assert [_bar_of(f) for f in frames] == idx.tolist()  # the frame content matches its index
    assert np.allclose(np.concatenate([c.times for c in chunks]), idx * 1001 / 30000)
    fps = src.info.fps
    part = np.concatenate([c.indices for c in src.chunks(start=5 / fps, end=9 / fps)])
    assert part.tolist() == [5, 6, 7, 8]


def test_truncated_video_yields_frames_before_the_fault(video, tmp_path):
    data = video.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    src = open_frames(cut)
    got = []
    with pytest.raises(FrameReadError) as err:
        for chunk in src.chunks(chunk_size=3):
            got.extend(chunk.indices.tolist())
    assert got == list(range(len(got))) and 0 < len(got) < 20
    assert err.value.frame_index >= len(got) - 3 and "frame" in str(err.value)


def test_image_folder_in_numeric_order(tmp_path):
    for k in (1, 2, 10, 3):
        cv2.imwrite(str(tmp_path / f"f{k}.png"), _frame(k))
    src = open_frames(tmp_path, fps=25)
    assert src.info.kind == "images" and src.info.fps == 25 and src.info.frame_count == 4
    frames = np.concatenate([c.frames for c in src.chunks()])
    assert [_bar_of(f) for f in frames] == [1, 2, 3, 10]


def test_bad_inputs(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("not a video")
    for name in ("missing.mp4", "empty.mp4", "text.mp4"):
        with pytest.raises(BadInputError):
            open_frames(tmp_path / name)
    (tmp_path / "d").mkdir()
    with pytest.raises(BadInputError, match="no images"):
        open_frames(tmp_path / "d")


def test_rotation_metadata_turns_frames_upright():
    from inference.frames import rotate_frame

    f = np.zeros((2, 3, 3), np.uint8)
    f[0, 0] = 255  # top-left
    r = rotate_frame(f, 90)  # 90° clockwise: top-left goes to top-right
    assert r.shape == (3, 2, 3) and r[0, 1, 0] == 255
