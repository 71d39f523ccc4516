"""One timed child process for the speed benches: each measured run is a fresh Python process, as a user's is."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def timed_python(repo: Path, args: list[str], timeout: float = 600) -> tuple[float, str]:
    """`python ARGS` with `repo` first on the path, cwd `repo` → (wall seconds, stdout then stderr).
    A failing run fails the bench with its stderr's tail."""
    env = dict(os.environ, PYTHONPATH=str(repo), GLOG_minloglevel="2")
    t = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=timeout)
    wall = time.perf_counter() - t
    assert done.returncode == 0, done.stderr[-2000:]
    return wall, done.stdout + done.stderr
