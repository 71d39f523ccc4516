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


# ---------------------------------------------------------------- timestamps: VFR and raw streams (issue 14, case 7)

def _hostile():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import hostile_media

    if hostile_media.ffmpeg_exe() is None:
        pytest.skip("ffmpeg not available (pip install imageio-ffmpeg)")
    return hostile_media


@pytest.mark.parametrize("suffix", [".webm", ".mp4"])
def test_variable_frame_rate_is_resampled_by_time(tmp_path, suffix):
    """20 frames at 30 fps, then 12 at 10 fps. The WebM states 56 frames (duration x 30) and used to be called
    truncated at frame 32; the mp4 was flattened to its average 17.1 fps, putting every late frame early."""
    hm = _hostile()
    keep = hm.vfr_keep(20, 12)
    clip = hm.encode(tmp_path / f"vfr{suffix}", [hm.bar_frame(k) for k in range(keep[-1] + 1)], keep, fps=30)
    src = open_frames(clip)
    assert src.info.fps == pytest.approx(30.0) and src.info.frame_count == 56  # 0 .. 55/30 s
    assert "variable frame rate" in src.info.timing and "resampled" in src.info.timing
    chunks = list(src.chunks(chunk_size=8))
    idx = np.concatenate([c.indices for c in chunks])
    assert idx.tolist() == list(range(56))
    assert np.allclose(np.concatenate([c.times for c in chunks]), idx / 30.0)
    # each output frame shows the source frame nearest its time (frame k of the 30 fps original is at k/30 s)
    shown = [hm.bar_of(f) for c in chunks for f in c.frames]
    nearest = [min(keep, key=lambda j: (abs(j - k), j)) for k in range(56)]
    assert shown == nearest
    # a time range is cut by real time: 1.0-1.5 s holds the frames shot then, not frames 17-25 of the file
    part = [hm.bar_of(f) for c in src.chunks(start=1.0, end=1.5) for f in c.frames]
    assert part == nearest[30:45]


def test_raw_h264_stream_is_read_to_its_end(tmp_path):
    """A raw Annex-B stream has no container: OpenCV states -2.3e14 frames and no timestamps. It used to be
    refused ('the time range holds no frames'); now every frame is read, at the stated rate, with a note."""
    hm = _hostile()
    clip = hm.encode(tmp_path / "raw.h264", [hm.bar_frame(k) for k in range(24)], fps=25)
    assert cv2.VideoCapture(str(clip)).get(cv2.CAP_PROP_FRAME_COUNT) < 0  # the hostile part is real
    src = open_frames(clip)
    assert src.info.frame_count == 24 and src.info.fps == pytest.approx(25.0)
    assert "no usable timestamps" in src.info.timing
    frames = [f for c in src.chunks() for f in c.frames]
    assert [hm.bar_of(f) for f in frames] == list(range(24))
    assert [hm.bar_of(f) for c in src.chunks(start=0.4, end=0.6) for f in c.frames] == list(range(10, 15))


def test_constant_rate_containers_keep_their_rate_and_frames(tmp_path):
    hm = _hostile()
    for suffix in (".webm", ".mp4", ".mkv"):
        clip = hm.encode(tmp_path / f"cfr{suffix}", [hm.bar_frame(k) for k in range(20)], fps=30000 / 1001)
        src = open_frames(clip)
        assert src.info.fps == pytest.approx(30000 / 1001) and src.info.frame_count == 20, suffix
        assert src.info.timing == "", (suffix, src.info.timing)
        assert [hm.bar_of(f) for c in src.chunks() for f in c.frames] == list(range(20)), suffix


def test_timeline_trusts_the_container_count_only_when_it_can():
    from inference.frames import video_timeline

    even = np.arange(40) / 30.0
    assert video_timeline(even, 30.0, 60, at_end=True).frame_count == 60  # truncated: the reader says where
    assert video_timeline(even, 30.0, -2.3e14, at_end=True).frame_count == 40  # absurd counts are ignored
    assert video_timeline(even, 30.0, 1e12, at_end=True).frame_count == 40
    assert video_timeline(even, float("nan"), 40, at_end=True).fps == pytest.approx(30.0)  # rate from the stamps
    uneven = np.concatenate([np.arange(20) / 30.0, 19 / 30.0 + np.arange(1, 13) / 10.0])
    line = video_timeline(uneven, 30.0, 56, at_end=True)  # a VFR WebM's count is its duration x a nominal rate
    assert line.frame_count == 56 and line.source_of is not None and line.source_of.max() == 31
    one = video_timeline([0.0], 24.0, 1)
    assert one.frame_count == 1 and one.fps == 24.0


def test_fit_video_refuses_non_finite_times_before_opening_anything(tmp_path):
    """The API (the Blender operator, the batch script) gets the same checks as the CLI's parser."""
    from inference.video import fit_video

    for start, end in ((float("nan"), None), (0.0, float("inf")), (-1.0, None), (2.0, 1.0)):
        with pytest.raises(BadInputError, match="time"):
            fit_video(tmp_path / "never_opened.mp4", body="tiny", start=start, end=end)


# ---------------------------------------------------------------- timestamps from the packets, without decoding

def _decoded_stamps(path) -> np.ndarray:
    """The reference: every frame decoded (grab), its CAP_PROP_POS_MSEC, in seconds."""
    cap = cv2.VideoCapture(str(path))
    stamps = []
    while cap.grab():
        stamps.append(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
    cap.release()
    return np.asarray(stamps)


def _b_frames(hm, src: Path, out: Path, rate=None) -> Path:
    """Re-encode with B-frames (packets out of presentation order), optionally at another rate."""
    import subprocess

    args = [hm.ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(src), "-c:v", "libx264", "-preset", "medium",
            "-bf", "3"] + (["-r", str(rate)] if rate else [])
    subprocess.run([*args, str(out)], check=True, capture_output=True, timeout=120)
    return out


def _clips(hm, tmp_path):
    frames = [hm.bar_frame(k) for k in range(40)]
    keep = hm.vfr_keep(20, 12)
    clips = {s: hm.encode(tmp_path / f"c{s}", frames, fps=30) for s in (".mp4", ".webm", ".mkv", ".avi", ".h264")}
    clips.update({f"vfr{s}": hm.encode(tmp_path / f"v{s}", frames[: keep[-1] + 1], keep) for s in (".mp4", ".webm")})
    clips["b-frames.mp4"] = _b_frames(hm, clips[".mp4"], tmp_path / "b.mp4")
    clips["b-frames 25fps.mkv"] = _b_frames(hm, clips[".mp4"], tmp_path / "b25.mkv", rate=25)
    return clips


def test_timestamps_from_the_packets_equal_the_decoded_ones(tmp_path):
    """read_timestamps reads packets (no decoding) where it can: the same times as decoding every frame, for
    B-frames (packets in decode order), variable rates, MJPEG, WebM, MKV; a raw stream (no timestamps) decodes."""
    from inference.frames import read_timestamps

    hm = _hostile()
    for name, clip in _clips(hm, tmp_path).items():
        cap = cv2.VideoCapture(str(clip))
        stamps, at_end = read_timestamps(clip, cap, cap.get(cv2.CAP_PROP_FPS), None)
        cap.release()
        np.testing.assert_allclose(stamps, _decoded_stamps(clip), atol=1e-9, err_msg=name)
        assert at_end, name
    # with an end time: read past it (half a second, from packets: B-frames arrive reordered), with no frame missed
    clip = tmp_path / "b.mp4"
    cap = cv2.VideoCapture(str(clip))
    stamps, at_end = read_timestamps(clip, cap, 30.0, 0.1)
    cap.release()
    assert not at_end and 0.55 < stamps[-1] - stamps[0] <= 0.6 + 1e-9
    np.testing.assert_allclose(stamps, _decoded_stamps(clip)[: len(stamps)], atol=1e-9)


def test_opening_a_video_decodes_no_frame_for_its_timestamps(tmp_path, monkeypatch):
    """Opening used to decode the whole clip once (0.7 s CPU of tennis.mp4's 312 frames) before reading it."""
    hm = _hostile()
    grabs = {"decoded": 0}
    real = cv2.VideoCapture

    class Counting:  # wraps (a Python subclass of cv2.VideoCapture crashes on release)
        def __init__(self, *args):
            self.cap, self.raw = real(*args), False

        def set(self, prop, value):
            if prop == cv2.CAP_PROP_FORMAT and value == -1:
                self.raw = True
            return self.cap.set(prop, value)

        def grab(self):
            ok = self.cap.grab()
            grabs["decoded"] += bool(ok and not self.raw)
            return ok

        def __getattr__(self, name):
            return getattr(self.cap, name)

    monkeypatch.setattr(cv2, "VideoCapture", Counting)
    for name, clip in _clips(hm, tmp_path).items():
        if name == ".h264":
            continue  # no timestamps in the packets: decoded, as before
        grabs["decoded"] = 0
        src = open_frames(clip)
        assert grabs["decoded"] == 0, name
        assert [hm.bar_of(f) for c in src.chunks() for f in c.frames][:3] == [0, 1, 2] or "vfr" in name, name
