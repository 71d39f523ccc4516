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


def test_cpus_available_counts_this_process_cores():
    assert 1 <= chunk_fitter.cpus_available()
