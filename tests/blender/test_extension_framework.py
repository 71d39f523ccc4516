"""The pieces under the extension's operators that need no window: the worker-thread Job, settings, staging."""

from __future__ import annotations

import threading
import types

import pytest

from inference.errors import BadInputError, ModelFileError, NoPersonError


def test_job_runs_on_a_worker_thread_and_reports_progress():
    from bodyrig.operators.modal import Job

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


def test_video_progress_is_shown_as_the_fraction_of_frames():
    """fit_video reports (frames done, frames total, stage); the job shows done/total, not a count as 100%."""
    from bodyrig.operators.import_ops import frames_progress
    from bodyrig.operators.modal import Job

    job = Job(lambda progress: frames_progress(progress)(32, 90, "fit"), label="Video").run_here()
    assert job.error is None
    assert abs(job.fraction - 32 / 90) < 1e-12 and "fit" in job.message and "32/90" in job.message


def test_job_cancel_stops_at_the_next_progress_call():
    from bodyrig.operators.modal import Cancelled, Job

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
    from bodyrig.operators.modal import Job

    def work(progress):
        raise BadInputError("no such photo")

    job = Job(work).run_here()
    assert isinstance(job.error, BadInputError) and job.done


def test_settings_merge_preferences_and_operator(tmp_path, monkeypatch):
    from bodyrig.operators.settings import settings_from

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

    from bodyrig.operators.staging import Staging

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

    from bodyrig.blender_addon.installer import dependency_status, pip_command, run_pip
    from inference.errors import BodyRigError

    lines = []
    # --no-index: pip looks nowhere, so this fails the same way offline or online, quickly.
    with pytest.raises(BodyRigError) as info:
        run_pip([sys.executable, "-m", "pip", "install", "--no-index", "bodyrig-no-such-package"], lines.append)
    assert "No matching distribution found for bodyrig-no-such-package" in str(info.value)
    assert lines  # pip's lines were streamed as progress
    import numpy

    cmd = pip_command(["torch"], "/tmp/target")
    assert cmd[:3] == [sys.executable, "-m", "pip"] and cmd[-4:-1] == ["--target", "/tmp/target", "torch"]
    assert cmd[-1] == f"numpy=={numpy.__version__}"  # Blender's own numpy is kept, not shadowed
    status = {module: found for module, _, _, found in dependency_status()}
    assert status["torch"] and status["mediapipe"]  # this environment has them


class _Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *a, **k: self.calls.append((name, a))


def _modal_harness(work, finish):
    """A JobOperatorMixin driven by hand with stand-in context/events (no window exists headless)."""
    from bodyrig.operators.modal import Job, JobOperatorMixin

    class Op(JobOperatorMixin):
        def __init__(self):
            self.reports = []

        def report(self, kind, text):
            self.reports.append((sorted(kind), text))

    op = Op()
    op._job, op._finish, op._timer = Job(work, label="Test").start(), finish, object()
    context = types.SimpleNamespace(window_manager=_Recorder(), workspace=_Recorder())
    return op, context


def test_modal_updates_progress_then_finishes_on_the_main_thread():
    gate, finished = threading.Event(), []

    def work(progress):
        progress(0.5, "half")
        gate.wait(5)
        return "result"

    op, context = _modal_harness(work, lambda ctx, result: finished.append(
        (result, threading.current_thread() is threading.main_thread())) or {"FINISHED"})
    timer = types.SimpleNamespace(type="TIMER")
    while op._job.fraction < 0.5:
        threading.Event().wait(0.01)
    assert op.modal(context, timer) == {"RUNNING_MODAL"}
    assert ("progress_update", (500,)) in context.window_manager.calls
    assert any(name == "status_text_set" and "half" in args[0] for name, args in context.workspace.calls)
    assert op.modal(context, types.SimpleNamespace(type="MOUSEMOVE")) == {"PASS_THROUGH"}
    gate.set()
    op._job.wait(5)
    assert op.modal(context, timer) == {"FINISHED"}
    assert finished == [("result", True)]
    assert ("progress_end", ()) in context.window_manager.calls and ("status_text_set", (None,)) in \
        context.workspace.calls


def test_modal_escape_cancels_without_finishing():
    gate, finished = threading.Event(), []

    def work(progress):
        while not gate.wait(0.01):
            progress(0.1)

    op, context = _modal_harness(work, lambda ctx, result: finished.append(result) or {"FINISHED"})
    assert op.modal(context, types.SimpleNamespace(type="ESC")) == {"CANCELLED"}
    assert op._job.wait(5) and finished == []
    assert op.reports and "cancelled" in op.reports[0][1]
    gate.set()


def test_modal_reports_a_user_error_and_cancels():
    def work(progress):
        raise NoPersonError("no person found in the photo")

    op, context = _modal_harness(work, lambda ctx, result: {"FINISHED"})
    op._job.wait(5)
    assert op.modal(context, types.SimpleNamespace(type="TIMER")) == {"CANCELLED"}
    assert op.reports == [(["ERROR"], "no person found in the photo")]
