"""End-to-end speed of the `video` CLI on a real clip against MediaPipe alone on the same frames (issue 16).

Run: `.venv/bin/python -m pytest bench/bench_video_real.py -m bench -s` (BODYRIG_VIDEO: the clip, default
../shared/data/videos/tennis.mp4; BODYRIG_BENCH_REPEATS: default 3; BODYRIG_BENCH_BEFORE=PATH adds an older
checkout's CLI). Measured in the same run, interleaved, each in a fresh process, medians:
- baseline: a bare Python process (MediaPipe's Tasks API as its guide shows, nothing of BodyRig imported) that
  decodes the clip with OpenCV and runs the full pose landmarker in VIDEO mode on every frame. Its rate is given
  twice: over the whole process (start included) and over its decode+landmark loop alone (the stricter one);
- `python -m inference video CLIP --out OUT.npz --no-progress`: frames / the process's wall time.
Target (issue 16): the CLI's rate at least half of the baseline's loop-only rate. The CLI's own per-stage
seconds (its "wrote ..." line) say where its time goes.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from processes import timed_python  # noqa: E402

pytestmark = pytest.mark.bench
REPO = Path(__file__).resolve().parents[1]
CLIP = Path(os.environ.get("BODYRIG_VIDEO", REPO.parent / "shared" / "data" / "videos" / "tennis.mp4"))

BARE_MEDIAPIPE_VIDEO = """
import sys, time
t0 = time.perf_counter()
import cv2
import mediapipe as mp
from mediapipe.tasks import python
from mediapipe.tasks.python import vision

options = vision.PoseLandmarkerOptions(
    base_options=python.BaseOptions(model_asset_path="inference/models/pose/pose_landmarker_full.task"),
    running_mode=vision.RunningMode.VIDEO)
with vision.PoseLandmarker.create_from_options(options) as landmarker:
    cap = cv2.VideoCapture(sys.argv[1])
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    t1, n, found = time.perf_counter(), 0, 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        found += bool(landmarker.detect_for_video(image, int(round(1000 * n / fps))).pose_landmarks)
        n += 1
    loop = time.perf_counter() - t1
print(f"FRAMES {n} FOUND {found} LOOP {loop:.4f} SETUP {t1 - t0:.4f}")
"""



def test_video_cli_against_bare_mediapipe_on_a_real_clip():
    if not CLIP.is_file():
        pytest.skip(f"no clip at {CLIP}")
    repeats = int(os.environ.get("BODYRIG_BENCH_REPEATS", "3"))
    trees = [("this tree", REPO)]
    if os.environ.get("BODYRIG_BENCH_BEFORE"):
        trees.append(("before", Path(os.environ["BODYRIG_BENCH_BEFORE"])))
    base_wall, base_loop, cli = [], [], {name: [] for name, _ in trees}
    lines = {}
    frames = None
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            wall, out = timed_python(REPO, ["-c", BARE_MEDIAPIPE_VIDEO, str(CLIP)])
            fields = out.split("FRAMES")[-1].split()
            frames, loop = int(fields[0]), float(fields[4])
            base_wall.append(frames / wall)
            base_loop.append(frames / loop)
            for name, repo in trees:
                args = ["-m", "inference", "video", str(CLIP), "--out", str(Path(tmp) / f"{i}.npz"), "--no-progress"]
                wall, out = timed_python(repo, args, timeout=1200)
                cli[name].append(frames / wall)
                lines[name] = [ln for ln in out.splitlines() if ln.startswith("wrote")][-1:]
    med = statistics.median
    print(f"\n{CLIP.name}: {frames} frames; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
          f"medians of {repeats}")
    print(f"bare MediaPipe VIDEO mode: {med(base_wall):.1f} fps with process start, {med(base_loop):.1f} fps "
          f"decode+landmarks only (raw {[round(x, 1) for x in base_loop]})")
    for name, rates in cli.items():
        print(f"{name}: video CLI {med(rates):.1f} fps end to end (raw {[round(x, 1) for x in rates]}) = "
              f"{med(rates) / med(base_loop):.2f} of the loop-only baseline; {lines[name]}")
    mine = med(cli["this tree"]) / med(base_loop)
    print(f"target (>= 0.5 of MediaPipe's own rate): {'met' if mine >= 0.5 else 'NOT met'}")
    assert mine >= 0.25, "the video CLI runs under a quarter of MediaPipe's own rate"  # loose: a shared machine
