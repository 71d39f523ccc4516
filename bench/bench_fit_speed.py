"""The photo fit's speed against its floor: the `fit` CLI vs a bare Python process that only runs MediaPipe.

Run: `.venv/bin/python -m pytest bench/bench_fit_speed.py -m bench -s` (BODYRIG_CACHE pointing at a built open
body). Measured in the same run, each in a fresh process, process start included, the median of
BODYRIG_BENCH_REPEATS (default 3) interleaved repeats:
- baseline: `python -c` that runs MediaPipe's pose landmarker (Tasks API, as its guide shows; the full model
  BodyRig ships) once on data/sample_photo.jpg: MediaPipe's import, the landmarker's creation, one inference.
  Nothing of BodyRig is imported;
- `python -m inference fit data/sample_photo.jpg --out ...` (open body, CPU);
- a warm `fit_image` on the same photo: the median of the 2nd..4th calls in one process.
BODYRIG_BENCH_BEFORE=PATH (a checkout of an older BodyRig) adds the same rows for that tree.
Targets (issue 15, a 2-core machine): the CLI within 2.5x the baseline; a warm fit_image under 0.5 s (printed as
met / not met; the asserts are looser regression guards, see bench/RESULTS.md).
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
PHOTO = "data/sample_photo.jpg"

# The baseline: MediaPipe's Tasks API used the way its pose landmarker guide shows, nothing of BodyRig imported.
BARE_MEDIAPIPE = f"""
import mediapipe as mp
from mediapipe.tasks import python
from mediapipe.tasks.python import vision

options = vision.PoseLandmarkerOptions(
    base_options=python.BaseOptions(model_asset_path="inference/models/pose/pose_landmarker_full.task"),
    output_segmentation_masks=True)
with vision.PoseLandmarker.create_from_options(options) as detector:
    result = detector.detect(mp.Image.create_from_file({PHOTO!r}))
assert result.pose_landmarks, "no person"
"""

WARM_FIT = f"""
import statistics, time
from inference.photo import fit_image
fit_image({PHOTO!r}, device="cpu")  # cold: imports, landmarker, body
times = []
for _ in range(3):
    t = time.perf_counter()
    fit_image({PHOTO!r}, device="cpu")
    times.append(time.perf_counter() - t)
print("WARM", statistics.median(times))
"""



def measure(repo: Path, repeats: int) -> dict:
    """Median seconds: bare MediaPipe process, fit CLI process, warm fit_image (in-process)."""
    bare, cli, warm = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            bare.append(timed_python(repo, ["-c", BARE_MEDIAPIPE])[0])
            cli.append(timed_python(repo, ["-m", "inference", "fit", PHOTO, "--out", str(Path(tmp) / f"{i}.json")])[0])
        for _ in range(repeats):
            out = timed_python(repo, ["-c", WARM_FIT])[1]
            warm.append(float(next(ln for ln in out.splitlines() if ln.startswith("WARM")).split()[1]))
    return {"bare": statistics.median(bare), "cli": statistics.median(cli), "warm": statistics.median(warm),
            "all": (bare, cli, warm)}


def test_fit_cli_and_warm_fit_against_bare_mediapipe():
    repeats = int(os.environ.get("BODYRIG_BENCH_REPEATS", "3"))
    trees = [("this tree", REPO)]
    if os.environ.get("BODYRIG_BENCH_BEFORE"):
        trees.append(("before", Path(os.environ["BODYRIG_BENCH_BEFORE"])))
    rows = {name: measure(path, repeats) for name, path in trees}
    print(f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; medians of {repeats}")
    print("| tree | bare MediaPipe process s | fit CLI process s | CLI / bare | warm fit_image s |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['bare']:.2f} | {r['cli']:.2f} | {r['cli'] / r['bare']:.2f} | {r['warm']:.2f} |")
        print(f"  raw: bare {[round(x, 2) for x in r['all'][0]]}, cli {[round(x, 2) for x in r['all'][1]]}, "
              f"warm {[round(x, 2) for x in r['all'][2]]}")
    mine = rows["this tree"]
    print(f"targets: CLI <= 2.5x bare {'met' if mine['cli'] <= 2.5 * mine['bare'] else 'NOT met'}; "
          f"warm < 0.5 s {'met' if mine['warm'] < 0.5 else 'NOT met'} (a quiet machine: both need the second core)")
    # regression guards, loose for a shared machine: before issue 15 these were 9x and 5-8 s (2 torch threads)
    assert mine["cli"] <= 5 * mine["bare"], "the fit CLI is over 5x a bare MediaPipe process"
    assert mine["warm"] < 1.5, "a warm fit_image takes 1.5 s or more"
