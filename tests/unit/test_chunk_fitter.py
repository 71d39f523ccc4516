"""Where the video's chunk fits go to a worker process (inference.chunk_fitter.worker_usable): only where it pays
(a CPU fit of several chunks, two cores) and a Python can be spawned (not inside Blender)."""

from __future__ import annotations

import sys
import types

import pytest

from inference import chunk_fitter


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(chunk_fitter, "cpus_available", lambda: 2)
    monkeypatch.setattr(sys, "executable", "/usr/bin/python3.11")
    monkeypatch.delitem(sys.modules, "bpy", raising=False)


def test_a_long_cpu_clip_on_two_cores_uses_a_worker(two_cores):
    assert chunk_fitter.worker_usable(300, 32, "cpu")


def test_short_clips_one_core_and_gpus_stay_in_process(two_cores, monkeypatch):
    assert not chunk_fitter.worker_usable(95, 32, "cpu")  # under three chunks: its start-up is not won back
    assert not chunk_fitter.worker_usable(300, 32, "cuda:0")
    monkeypatch.setattr(chunk_fitter, "cpus_available", lambda: 1)
    assert not chunk_fitter.worker_usable(300, 32, "cpu")


@pytest.mark.parametrize("exe, bpy", [("/opt/blender/blender", False), ("/usr/bin/python3", True)],
                         ids=["blender-executable", "bpy-loaded"])
def test_inside_blender_the_fit_stays_in_process(two_cores, monkeypatch, exe, bpy):
    monkeypatch.setattr(sys, "executable", exe)
    if bpy:
        monkeypatch.setitem(sys.modules, "bpy", types.ModuleType("bpy"))
    assert not chunk_fitter.worker_usable(300, 32, "cpu")


def test_a_main_script_read_from_stdin_keeps_the_fit_in_process(two_cores, monkeypatch, tmp_path):
    """A spawned worker re-runs the parent's main script from its file: `python - < script.py` has none."""
    main = types.ModuleType("__main__")
    monkeypatch.setitem(sys.modules, "__main__", main)
    main.__file__ = "<stdin>"
    assert not chunk_fitter.worker_usable(300, 32, "cpu")
    script = tmp_path / "run.py"
    script.write_text("")
    main.__file__ = str(script)
    assert chunk_fitter.worker_usable(300, 32, "cpu")
    del main.__file__  # an interactive session or a notebook: nothing to re-run
    assert chunk_fitter.worker_usable(300, 32, "cpu")


def test_cpus_available_counts_this_process_cores():
    assert 1 <= chunk_fitter.cpus_available()


def test_a_parent_running_several_of_us_cuts_the_cores_to_its_share(monkeypatch):
    """A batch with two workers on two cores: each worker's share is one core, so no video starts a fit worker
    (four busy processes on two cores). Garbage in the variable is ignored, never a crash."""
    monkeypatch.setattr(chunk_fitter.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setenv(chunk_fitter.CPU_SHARE_ENV, "1")
    assert chunk_fitter.cpus_available() == 1
    monkeypatch.setenv(chunk_fitter.CPU_SHARE_ENV, "8")  # a share never adds cores
    assert chunk_fitter.cpus_available() == 2
    monkeypatch.setenv(chunk_fitter.CPU_SHARE_ENV, "lots")
    assert chunk_fitter.cpus_available() == 2


def test_the_batch_gives_each_worker_its_share_of_the_cores(tmp_path, monkeypatch):
    """scripts/batch.py's run_workers starts its children with CPU_SHARE_ENV = cores // workers."""
    import json
    import subprocess
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "scripts"))
    import batch
    seen = []

    class Finished:  # a worker that reports every input of its shard and exits 0
        def __init__(self, cmd, **kw):
            seen.append(kw.get("env", {}).get(chunk_fitter.CPU_SHARE_ENV))
            shard = json.loads(Path(cmd[cmd.index("--worker-shard") + 1]).read_text())
            self.stdout = [batch.RECORD_PREFIX + json.dumps({"input": p, "status": "ok"}) + "\n" for p, _ in shard]

        def wait(self, *_):
            return 0

        def poll(self):
            return 0

    monkeypatch.setattr(chunk_fitter, "cpus_available", lambda: 4)
    monkeypatch.setattr(subprocess, "Popen", Finished)
    records = []
    args = types.SimpleNamespace(workers=2, out=tmp_path, formats=["npz"], pifu=False)
    batch.run_workers([(tmp_path / "a.jpg", "a"), (tmp_path / "b.jpg", "b")], args, [], records.append)
    assert len(records) == 2 and seen == ["2", "2"]
