"""Video pipeline benchmarks (not in the default run): `.venv/bin/python -m pytest bench/bench_video.py -s`.

- speed: frames per second, split by stage (decode, detect, regress, fit, write), on a 300-frame 720p clip
  (the rendered ground-truth clip upscaled to 720x1280 and played back and forth); baseline in the same run:
  static-mode MediaPipe detection of every frame (inference.detect.detect_person) instead of tracking.
- accuracy: the rendered known motion (scripts/render_gt_video.py; plain and textured backgrounds), MPJPE,
  PA-MPJPE, root path error, jitter and drift of the pipeline vs raw per-frame fitting (temporal=False).
Results go to bench/RESULTS.md by hand with the machine and date.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "e2e" / "data"
TEXTURED = Path(os.environ.get("BODYRIG_GT_TEXTURED", "/tmp/gt_tex/gt_textured.mp4"))

pytestmark = pytest.mark.bench


def _body():
    from inference.body.load import load_body

    return load_body("open")


def _clip_720p(path: Path, n: int = 300) -> Path:
    cap = cv2.VideoCapture(str(DATA / "gt_plain.mp4"))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(f, (720, 1280), interpolation=cv2.INTER_CUBIC))
    loop = frames + frames[::-1]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (720, 1280))
    for i in range(n):
        writer.write(loop[i % len(loop)])
    writer.release()
    return path


def test_video_speed_720p(tmp_path):
    from inference.detect import detect_person
    from inference.frames import open_frames
    from inference.motion_io import save_motion
    from inference.video import fit_video

    clip = _clip_720p(tmp_path / "clip720.mp4")
    body = _body()
    fit_video(DATA / "gt_plain.mp4", body=body, device="cpu", end=0.3)  # warm: graphs, model, imports
    tm = {}
    t0 = time.perf_counter()
    motion = fit_video(clip, body=body, device="cpu", timings=tm)
    t1 = time.perf_counter()
    save_motion(motion, tmp_path / "m.npz")
    tm["write"] = time.perf_counter() - t1
    total = time.perf_counter() - t0
    n = motion.num_frames
    print(f"\n720p x {n} frames: {n / total:.1f} fps end to end ({total:.1f} s)")
    for k, v in tm.items():
        print(f"  {k:8s} {v:6.2f} s  {n / v if v > 0 else float('inf'):8.1f} fps")
    # Baseline: detecting every frame in static mode (what a photo pipeline would do), on the first 60 frames.
    src = open_frames(clip)
    t0 = time.perf_counter()
    k = 0
    for chunk in src.chunks(end=2.0, chunk_size=8):
        for f in chunk.frames:
            detect_person(f)
            k += 1
    base = time.perf_counter() - t0
    print(f"  baseline static detection (incl. decode): {k / base:.1f} fps vs tracking {n / tm['detect']:.1f} fps")
    assert n == 300 and motion.detected.mean() > 0.95


@pytest.mark.parametrize("name", ["plain", "textured"])
def test_video_accuracy(name):
    from inference import motion_metrics as mm
    from inference.body import body_model
    from inference.body.kinematics import motion_joints
    from inference.video import fit_video

    clip = DATA / "gt_plain.mp4" if name == "plain" else TEXTURED
    if not clip.is_file():
        pytest.skip(f"{clip} not rendered (scripts/render_gt_video.py --only textured --out {clip.parent})")
    gt = np.load(DATA / "gt_motion.npz")
    data = _body()
    model = body_model(data, "cpu")
    gj = motion_joints(model, gt["pose"], gt["betas"], gt["transl"])
    print(f"\n{name}: truth's own jitter {mm.jitter(gj, 30.0):.2f} m/s^2")
    got = {}
    for temporal in (True, False):
        m = fit_video(clip, body=data, device="cpu", temporal=temporal)
        s = m.metadata["start_frame"]
        g = gj[s:s + m.num_frames]
        pj = motion_joints(model, m.pose, m.betas, m.transl)
        label = "pipeline (temporal, One-Euro 0.5, unslide)" if temporal else "raw per-frame fitting"
        print(f"  {label:44s} MPJPE {1000 * mm.mpjpe(pj, g):5.1f} mm  PA-MPJPE {1000 * mm.pa_mpjpe(pj, g):5.1f} mm"
              f"  root path {1000 * mm.root_path_error(pj[:, 0], g[:, 0]):5.1f} mm  jitter {mm.jitter(pj, m.fps):5.2f}"
              f" m/s^2  drift {1000 * mm.drift(pj[:, 0]):5.1f} mm  frames {m.num_frames}")
        got[temporal] = {"mpjpe": mm.mpjpe(pj, g), "pa": mm.pa_mpjpe(pj, g), "jitter": mm.jitter(pj, m.fps),
                         "root": mm.root_path_error(pj[:, 0], g[:, 0]), "drift": mm.drift(pj[:, 0])}
    pipe, raw = got[True], got[False]
    # Against the baseline of the same run: the temporal pipeline must beat raw per-frame fitting.
    assert pipe["pa"] < raw["pa"] and pipe["mpjpe"] < raw["mpjpe"] and pipe["root"] < raw["root"]
    assert pipe["jitter"] < 0.5 * raw["jitter"]
    # And stay near bench/RESULTS.md (2026-11-21: MPJPE 81.7/77.9 mm, PA 51.4/52.6 mm, drift 4.1/23.3 mm).
    assert pipe["mpjpe"] < 0.090 and pipe["pa"] < 0.058 and pipe["drift"] < 0.035
