"""The pieces under the extension's operators that need no window: the worker-thread Job, settings, staging."""

from __future__ import annotations

import threading
import types

import pytest

from inference.errors import BadInputError, ModelFileError


def test_job_runs_on_a_worker_thread_and_reports_progress():
    from operators.modal import Job

    seen = {}
    gate = threading.Event()

    def work(progress):
        seen["thread"] = threading.current_thread().name
        progress(0.25, "detecting")
        progress("fitting", 0.5)  # either order
        gate.wait(5)
        return 42

    job = Job(work, label="Test").start()
    assert not job.wait(0.2) or job.fraction == 0.5  # blocked on the gate
    assert job.fraction == 0.5 and job.message == "fitting" and not job.done
    assert "fitting" in job.status_text() and "50%" in job.status_text()
    gate.set()
    assert job.wait(5) and job.result == 42 and job.error is None
    assert seen["thread"] != threading.current_thread().name


def test_job_cancel_stops_at_the_next_progress_call():
    from operators.modal import Cancelled, Job

    started, steps = threading.Event(), []

    def work(progress):
        started.set()
        for i in range(1000):
            progress(i / 1000)
            steps.append(i)
            threading.Event().wait(0.005)
        return "finished"

    job = Job(work).start()
    assert started.wait(5)
    job.cancel()
    assert job.wait(5)
    assert isinstance(job.error, Cancelled) and job.result is None and len(steps) < 1000


def test_job_keeps_the_exception_for_the_main_thread():
    from operators.modal import Job

    def work(progress):
        raise BadInputError("no such photo")

    job = Job(work).run_here()
    assert isinstance(job.error, BadInputError) and job.done


def test_settings_merge_preferences_and_operator(tmp_path, monkeypatch):
    from operators.settings import settings_from

    monkeypatch.delenv("BODYRIG_BODY", raising=False)
    smpl = tmp_path / "SMPL_FEMALE.pkl"
    smpl.write_bytes(b"x")
    prefs = types.SimpleNamespace(device="CUDA", hmr_checkpoint="", pifu_net_G=str(tmp_path / "g"), pifu_net_C="",
                                  body_source="SMPL", smpl_female=str(smpl), smpl_neutral="", smpl_male="")
    op = types.SimpleNamespace(gender="FEMALE", shape_keys=True)
    s = settings_from(op, prefs)
    assert s == {"body": str(smpl), "gender": "female", "checkpoint": None, "device": "cuda",
                 "pifu_net_G": str(tmp_path / "g"), "pifu_net_C": None, "shape_keys": True}
    assert settings_from(None, None)["body"] is None  # the open body by default
    with pytest.raises(ModelFileError, match="no SMPL neutral file"):
        settings_from(types.SimpleNamespace(gender="NEUTRAL"), prefs)
    monkeypatch.setenv("BODYRIG_BODY", "tiny")
    assert settings_from(op, prefs)["body"] == "tiny"


def test_staging_rollback_removes_what_was_added(empty_scene):
    import bpy

    from operators.staging import Staging

    keep = bpy.data.objects.new("Keep", bpy.data.meshes.new("KeepMesh"))
    empty_scene.collection.objects.link(keep)
    empty_scene.render.fps = 24
    staging = Staging(bpy.context)
    coll = bpy.data.collections.new("New")
    empty_scene.collection.children.link(coll)
    arm = bpy.data.objects.new("Rig", bpy.data.armatures.new("RigData"))
    coll.objects.link(arm)
    bpy.data.actions.new("Anim")
    empty_scene.render.fps = 50
    assert set(staging.added()) == {"objects", "collections", "armatures", "actions"}
    staging.rollback()
    assert [o.name for o in bpy.data.objects] == ["Keep"] and len(bpy.data.collections) == 0
    assert len(bpy.data.armatures) == 0 and len(bpy.data.actions) == 0 and len(bpy.data.meshes) == 1
    assert empty_scene.render.fps == 24


def test_installer_shows_pips_own_error_text():
    import sys

    from blender_addon.installer import dependency_status, pip_command, run_pip
    from inference.errors import BodyRigError

    lines = []
    # --no-index: pip looks nowhere, so this fails the same way offline or online, quickly.
    with pytest.raises(BodyRigError) as info:
        run_pip([sys.executable, "-m", "pip", "install", "--no-index", "bodyrig-no-such-package"], lines.append)
    assert "No matching distribution found for bodyrig-no-such-package" in str(info.value)
    assert lines  # pip's lines were streamed as progress
    cmd = pip_command(["torch"], "/tmp/target")
    assert cmd[:3] == [sys.executable, "-m", "pip"] and cmd[-3:] == ["--target", "/tmp/target", "torch"]
    status = {module: found for module, _, _, found in dependency_status()}
    assert status["torch"] and status["mediapipe"]  # this environment has them
