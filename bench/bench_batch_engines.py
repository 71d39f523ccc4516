"""The batch's engines: 20 short inputs on local processes vs Ray tasks, the same worker count (2).

Inputs: 20 copies of data/sample_photo.jpg, the tiny body, --format json (about a second of work each), so the
engine's own cost shows: Ray's start and stop of a local cluster (measured alone in the same run), then the
overhead per task = (Ray wall - Ray start/stop - local wall) / inputs.
Run: `.venv/bin/python -m pytest bench/bench_batch_engines.py -m bench -s`; copy the table into RESULTS.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench
REPO = Path(__file__).resolve().parents[1]
N, WORKERS = 20, 2


def _batch(inputs: Path, out: Path, engine: str) -> tuple[float, dict]:
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "batch.py"), str(inputs), "--out", str(out),
                           "--format", "json", "--body", "tiny", "--workers", str(WORKERS), "--engine", engine],
                          capture_output=True, text=True, env=env, timeout=1800)
    wall = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    return wall, json.loads((out / "summary.json").read_text())


def _ray_start_stop() -> float:
    code = ("import os,time; os.environ['RAY_USAGE_STATS_ENABLED']='0'; import logging, ray; t=time.perf_counter();"
            f"ray.init(num_cpus={WORKERS}, include_dashboard=False, logging_level=logging.ERROR);"
            "ray.get(ray.remote(lambda: 1).remote()); ray.shutdown(); print(time.perf_counter()-t)")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                timeout=300).stdout.split()[-1])


def test_local_vs_ray(tmp_path):
    pytest.importorskip("ray")
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(N):
        shutil.copy(REPO / "data" / "sample_photo.jpg", inputs / f"p{i:02d}.jpg")
    rows = {}
    for engine in ("local", "ray"):
        wall, summary = _batch(inputs, tmp_path / engine, engine)
        assert summary["totals"]["ok"] == N
        work = sum(r["seconds"]["total"] for r in summary["inputs"])
        rows[engine] = (wall, work / N)
    start_stop = _ray_start_stop()
    per_task = (rows["ray"][0] - start_stop - rows["local"][0]) / N
    print(f"\n| engine | wall s ({N} inputs, {WORKERS} workers) | mean s per input (in its worker) |")
    print("|---|---|---|")
    for engine, (wall, mean) in rows.items():
        print(f"| {engine} | {wall:.1f} | {mean:.2f} |")
    print(f"Ray local cluster start+stop alone: {start_stop:.1f} s; "
          f"overhead per task beyond it: {per_task:+.3f} s ({per_task / rows['local'][1] * 100:+.0f}% of an input)")
