"""The batch on a local Ray cluster (`scripts/batch.py --engine ray`): retries after a killed worker, poisoned
inputs failing alone, models loaded once per worker, resume, SIGTERM and SIGINT.

One batch run (a Ray start costs seconds here) is shared by most tests. Worker pids and holds come from
scripts/batch_ray.py's test hooks ($BODYRIG_BATCH_TEST_HOOKS), so the kill lands mid-task every time.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

REPO = Path(__file__).resolve().parents[2]
BATCH = REPO / "scripts" / "batch.py"
sys.path.insert(0, str(REPO / "scripts"))
import batch_ray  # noqa: E402

# --body tiny: the engine is under test here, not the fit (a tiny-body photo fit takes ~1 s)
ARGS = ["--format", "json", "--body", "tiny", "--engine", "ray", "--workers", "2"]


def _start(inputs, out, hooks=None, cwd=REPO):
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    env.pop(batch_ray.TEST_HOOKS_ENV, None)
    if hooks is not None:
        env[batch_ray.TEST_HOOKS_ENV] = str(hooks)
    return subprocess.Popen([sys.executable, str(BATCH), str(inputs), "--out", str(out), *ARGS], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)


def _wait_for(path: Path, proc, timeout=180.0) -> None:
    """Until the task's hook has written its pid line (complete, with its newline)."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().endswith("\n")):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"{path.name} never appeared (rc {proc.returncode}): {err[-3000:]}")
        time.sleep(0.05)


def _pids(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()]


def _summary(out):
    summary = json.loads((out / "summary.json").read_text())
    return {Path(r["input"]).name: r for r in summary["inputs"]}, summary["totals"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("ray_inputs")
    for name in ("a.jpg", "b.jpg", "c.jpg", "crash.jpg", "victim.jpg"):
        shutil.copy(REPO / "data" / "sample_photo.jpg", d / name)
    (d / "notes.jpg").write_text("this is a text file, not a photo\n")
    return d


@pytest.fixture(scope="module")
def first_run(inputs, tmp_path_factory):
    """victim.jpg: its worker is SIGKILLed while the task runs; crash.jpg kills its worker on every attempt."""
    out, hooks = tmp_path_factory.mktemp("ray_out"), tmp_path_factory.mktemp("ray_hooks")
    (hooks / "victim.hold").touch()
    (hooks / "crash.crash").touch()
    proc = _start(inputs, out, hooks)
    _wait_for(hooks / "victim.pid", proc)
    killed = _pids(hooks / "victim.pid")[0]
    os.kill(killed, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=600)
    recs, totals = _summary(out)
    return {"proc": proc, "stderr": stderr, "out": out, "hooks": hooks, "killed": killed,
            "recs": {k: dict(r) for k, r in recs.items()}, "totals": totals}


def test_killed_worker_is_retried_and_every_input_finishes(first_run):
    recs, hooks = first_run["recs"], first_run["hooks"]
    assert first_run["proc"].returncode == 1, first_run["stderr"][-3000:]  # the two poisoned inputs
    victim = recs["victim.jpg"]
    assert victim["status"] == "ok", victim
    attempts = _pids(hooks / "victim.pid")
    assert len(attempts) == 2 and attempts[0] == first_run["killed"]  # killed once, retried once
    assert victim["worker"]["pid"] == attempts[1] != first_run["killed"]
    for name in ("a.jpg", "b.jpg", "c.jpg", "victim.jpg"):
        assert recs[name]["status"] == "ok", recs[name]
        fit = json.loads((first_run["out"] / f"{Path(name).stem}.json").read_text())
        assert len(fit["pose"]) == 24
    assert first_run["totals"]["inputs"] == 6 and first_run["totals"]["interrupted"] is False
    assert not [p for p in first_run["out"].iterdir() if p.name.startswith(".")]  # no temporary files left


def test_poisoned_inputs_fail_alone(first_run):
    recs, hooks = first_run["recs"], first_run["hooks"]
    crash = recs["crash.jpg"]
    assert crash["status"] == "failed"
    assert f"kept dying (WorkerCrashedError; Ray retried it {batch_ray.MAX_RETRIES} times)" in crash["error"]
    assert len(_pids(hooks / "crash.pid")) == batch_ray.MAX_RETRIES + 1  # Ray retried it, then gave up
    assert recs["notes.jpg"]["status"] == "failed" and "neither a photo" in recs["notes.jpg"]["error"]
    assert first_run["totals"]["ok"] == 4 and first_run["totals"]["failed"] == 2


def test_models_loaded_once_per_worker(first_run):
    """A worker's first photo loads the body model (fit.body: torch and the model); its later ones reuse it."""
    by_pid = {}
    for r in first_run["recs"].values():
        if r["status"] == "ok":
            by_pid.setdefault(r["worker"]["pid"], []).append(r)
    reused = [rs for rs in by_pid.values() if len(rs) > 1]
    assert reused, "no worker process ran two inputs: Ray did not reuse its workers"
    for rs in reused:
        rs.sort(key=lambda r: r["worker"]["task"])
        first, later = rs[0]["seconds"]["fit.body"], [r["seconds"]["fit.body"] for r in rs[1:]]
        assert first > 0.05 and max(later) < 0.01, (first, later)


def test_rerun_skips_complete_inputs(first_run, inputs):
    """Rerun with paths relative to another folder: tasks get absolute paths, records keep the given ones."""
    out = first_run["out"]
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.suffix == ".json" and p.stem != "summary"}
    base = out.parent
    proc = _start(inputs.relative_to(base), out.relative_to(base), cwd=base)  # no hooks: crash.jpg is a photo now
    _, stderr = proc.communicate(timeout=600)
    recs, _ = _summary(out)
    assert recs["a.jpg"]["input"] == str(inputs.relative_to(base) / "a.jpg")
    assert recs["crash.jpg"]["outputs"] == [str(out / "crash.json")]
    for name in ("a.jpg", "b.jpg", "c.jpg", "victim.jpg"):
        assert recs[name]["status"] == "skipped", recs[name]
    assert recs["crash.jpg"]["status"] == "ok" and recs["notes.jpg"]["status"] == "failed"
    assert proc.returncode == 1, stderr[-3000:]
    assert {n: (out / n).stat().st_mtime_ns for n in before} == before  # skipped outputs were not rewritten


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_cancels_the_queue_and_records_what_finished(tmp_path, signum, code):
    """a.jpg finishes; b and c hold their workers (c starts only after a's record is written); d is queued."""
    inputs, out, hooks = tmp_path / "in", tmp_path / "out", tmp_path / "hooks"
    inputs.mkdir(), hooks.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"):
        shutil.copy(REPO / "data" / "sample_photo.jpg", inputs / name)
    (hooks / "b.hold").touch()
    (hooks / "c.hold").touch()
    proc = _start(inputs, out, hooks)
    _wait_for(hooks / "c.pid", proc)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr[-3000:]
    recs, totals = _summary(out)
    assert totals["interrupted"] is True
    assert {k: r["status"] for k, r in recs.items()} == {"a.jpg": "ok"}
    assert not (hooks / "d.pid").exists()  # the queued input never started
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "summary.json"]


def test_worker_that_cannot_see_a_path_says_so(tmp_path):
    photo = tmp_path / "p.jpg"
    shutil.copy(REPO / "data" / "sample_photo.jpg", photo)
    rec = batch_ray.run_input(str(tmp_path / "elsewhere.jpg"), "elsewhere", {"out": str(tmp_path)})
    assert rec["status"] == "failed" and "cannot read the input" in rec["error"]
    assert str(tmp_path / "elsewhere.jpg") in rec["error"] and rec["worker"]["pid"] == os.getpid()
    rec = batch_ray.run_input(str(photo), "p", {"out": str(tmp_path / "not_mounted")})
    assert rec["status"] == "failed" and "cannot write to the output folder" in rec["error"]


def test_address_needs_the_ray_engine(tmp_path):
    proc = subprocess.run([sys.executable, str(BATCH), str(REPO / "data" / "sample_photo.jpg"), "--out",
                           str(tmp_path), "--address", "127.0.0.1:6379"], capture_output=True, text=True)
    assert proc.returncode == 2 and "--address needs --engine ray" in proc.stderr


def test_cuda_on_a_cluster_without_gpus_is_a_usage_error(tmp_path):
    """--device cuda asks each task for a GPU; on a cluster with none the tasks could never start: say so."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the local cluster has one")
    proc = subprocess.run([sys.executable, str(BATCH), str(REPO / "data" / "sample_photo.jpg"), "--out",
                           str(tmp_path), "--engine", "ray", "--device", "cuda"], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, RAY_USAGE_STATS_ENABLED="0"))
    assert proc.returncode == 2 and "the Ray cluster has no GPU" in proc.stderr, proc.stderr[-2000:]
    assert not (tmp_path / "summary.json").exists()
