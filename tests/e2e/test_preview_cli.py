"""`python -m inference preview` on the rendered clip (tests/e2e/data/gt_plain.mp4) and its known motion: the body
drawn over the video lands on the person (checked against the truth's joints projected by hand and against the
person's own pixels in the video), the sheet has its layout, the mp4 every frame; bad input exits 2 with one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.results import MotionFit
from tests.clips import read_frames

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "e2e" / "data"
CLIP = DATA / "gt_plain.mp4"  # 90 frames, 30 fps, 360x640, the open body 3 m away (scripts/render_gt_video.py)


def _open_body():
    from inference.body.load import load_body
    from inference.cache import cache_dir

    cached = cache_dir() / "open_body_v1.npz"
    spec = str(cached) if cached.is_file() else "open"
    try:
        return load_body(spec)
    except Exception as exc:  # noqa: BLE001 - any reason the open body is not there
        pytest.skip(f"open body not available: {exc}")


def _truth():
    """The rendered motion as a MotionFit as `video` writes one: floor at y = 0, its camera path (still, level,
    1.1 m up: the renderer's), and the truth as rendered (camera at the origin, floor at floor_y)."""
    from inference.camera import CameraPath
    from inference.preview import still_camera

    gt = np.load(DATA / "gt_motion.npz")
    up = np.array([0.0, -float(gt["floor_y"]), 0.0])
    camera = still_camera(len(gt["pose"]), 360, 640, video=str(CLIP)).turned(np.eye(3), up)
    assert isinstance(camera, CameraPath)
    motion = MotionFit(pose=gt["pose"], transl=gt["transl"] + up, betas=gt["betas"], fps=float(gt["fps"]),
                       body_model="open", metadata={"start_frame": 0, "stride": 1}, camera=camera)
    return motion, gt


def _box(mask):
    v, u = np.nonzero(mask)
    return np.array([u.min(), v.min(), u.max() + 1, v.max() + 1], float)


def test_overlay_lands_on_the_person_in_the_rendered_clip():
    from inference import preview as pv
    from inference.body import body_model
    from inference.body.kinematics import motion_joints

    data = _open_body()
    motion, gt = _truth()
    prev = pv.make_preview(motion, data, video=CLIP, frames=6)
    assert prev.panel == (202, 360)
    s = 202 / 360  # panel / video
    joints = motion_joints(body_model(data, "cpu"), gt["pose"], gt["betas"], gt["transl"])
    fx, fy, cx, cy = gt["cam"]
    frames = read_frames(CLIP)
    for k, t in enumerate(prev.frames):
        # the truth's joints as rendered, projected by hand: camera = R_x(pi) world (flip y and z)
        pc = joints[t] * [1.0, -1.0, -1.0]
        uv = (pc[:, :2] / pc[:, 2:] * [fx, fy] + [cx, cy]) * s
        box = _box(prev.masks[k])
        jbox = np.clip(np.r_[uv.min(0), uv.max(0)], 0, [202, 360, 202, 360])  # a hand may leave the frame
        assert (box[:2] <= jbox[:2] + 1).all() and (box[2:] >= jbox[2:] - 1).all(), (t, box, jbox)
        # the mesh reaches past the joints by the head, hands and feet only: under 12 % of the height
        height = jbox[3] - jbox[1]
        assert (np.abs(box - jbox) < 0.12 * height).all(), (t, box, jbox)
        # and it covers the person's own pixels in the video (a grey background)
        frame = cv2.resize(frames[t], prev.panel, interpolation=cv2.INTER_AREA).astype(int)
        person = np.abs(frame - np.median(frame.reshape(-1, 3), axis=0)).max(-1) > 20
        iou = (person & prev.masks[k]).sum() / (person | prev.masks[k]).sum()
        assert iou > 0.8, (t, iou)


def _cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "inference", "preview", *map(str, args)], capture_output=True,
                          text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=timeout)


def test_cli_writes_the_sheet_and_the_mp4(tmp_path):
    from inference import preview as pv
    from inference.motion_io import save_motion

    _open_body()
    motion, _ = _truth()
    path = save_motion(motion, tmp_path / "gt.npz")
    res = _cli(path, "--video", CLIP, "--out", tmp_path / "sheet.png", "--frames", 4, "--mp4", tmp_path / "all.mp4")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    sheet = cv2.imread(str(tmp_path / "sheet.png"))
    (w, h), origins = pv.sheet_layout(4, (202, 360))
    assert sheet.shape == (h, w, 3)
    x, y = origins[0][0]
    panel = sheet[y:y + 360, x:x + 202].astype(int)
    body = np.abs(panel - np.array(pv.BODY_RGB[::-1])).max(-1) < 60  # the body's blue over the grey
    assert 0.05 < body.mean() < 0.5
    cap = cv2.VideoCapture(str(tmp_path / "all.mp4"))
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    cap.release()
    assert count == 90 and size == (404, 360)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries left


@pytest.mark.parametrize("args, says", [
    (["--out", "sheet.jpg"], "must end in .png"),
    (["--out", "sheet.png", "--frames", "0"], "--frames"),
    (["--out", "sheet.png", "--video", "missing.mp4"], "missing.mp4"),
    (["--out", "sheet.png", "--mp4", "x.avi"], "must end in .mp4"),
])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, args, says):
    from inference.motion_io import save_motion

    motion, _ = _truth()
    path = save_motion(motion, tmp_path / "gt.npz")
    args = [str(tmp_path / a) if a.endswith((".png", ".jpg", ".mp4", ".avi")) else a for a in args]
    res = _cli(path, *args, timeout=120)
    assert res.returncode == 2 and says in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_cli_missing_motion_exits_2(tmp_path):
    res = _cli(tmp_path / "nothing.npz", "--out", tmp_path / "sheet.png", timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr


def test_demo_given_a_video_makes_the_motion_the_blend_and_the_sheet(tmp_path):
    """scripts/demo.py --video: the first half second of the rendered clip → motion, .blend and preview sheet."""
    pytest.importorskip("bpy")
    import importlib.util

    from inference.fileio import is_complete

    frames = read_frames(CLIP)[:15]
    clip = tmp_path / "short.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (360, 640))
    for f in frames:
        writer.write(f)
    writer.release()
    spec = importlib.util.spec_from_file_location("bodyrig_demo", REPO / "scripts" / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    blend, motion, sheet = demo.run_video(clip, tmp_path / "out", body="tiny", device="cpu")
    assert all(is_complete(p) for p in (blend, motion, sheet))
    image = cv2.imread(str(sheet))
    assert image.shape[0] > 2 * 360 and image.shape[1] > 8 * 202  # two rows of eight panels


def test_cli_a_video_that_is_no_video_exits_2(tmp_path):
    from inference.motion_io import save_motion

    motion, _ = _truth()
    path = save_motion(motion, tmp_path / "gt.npz")
    fake = tmp_path / "clip.mp4"
    fake.write_text("not a video\n" * 50)
    res = _cli(path, "--video", fake, "--out", tmp_path / "sheet.png", timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "clip.mp4" in res.stderr, res.stderr
    assert not (tmp_path / "sheet.png").exists()


def test_frames_the_video_does_not_have_are_drawn_on_grey():
    """A motion that claims to start past the clip's end (another clip given by mistake): grey, not a crash."""
    from inference import preview as pv
    from inference.body import tiny_model

    motion, _ = _truth()
    motion.metadata["start_frame"] = 1000
    data = tiny_model()
    motion.betas = np.zeros(data.num_betas)
    prev = pv.make_preview(motion, data, video=CLIP, frames=3)
    (w, h), origins = pv.sheet_layout(3, prev.panel)
    x, y = origins[0][1]
    panel = prev.sheet[y:y + prev.panel[1], x:x + prev.panel[0]]
    assert (panel[~prev.masks[1]] == pv.BACKGROUND).all(axis=-1).mean() > 0.95  # labels aside


def test_cli_says_when_the_motion_keeps_no_camera(tmp_path):
    from inference.motion_io import save_motion

    motion, _ = _truth()
    motion.camera = None
    path = save_motion(motion, tmp_path / "old.npz")
    res = _cli(path, "--video", CLIP, "--out", tmp_path / "sheet.png", "--frames", 1, "--body", "tiny", timeout=120)
    assert res.returncode == 0 and "keeps no camera" in res.stderr, res.stderr
    with_camera = save_motion(_truth()[0], tmp_path / "new.npz")
    res = _cli(with_camera, "--out", tmp_path / "sheet2.png", "--frames", 1, "--body", "tiny", timeout=120)
    assert res.returncode == 0 and "keeps no camera" not in res.stderr, res.stderr
