"""`python -m inference fit` as a user runs it: a real subprocess, the JSON it writes, exit codes, errors."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.body.skeleton import SMPL_JOINT_NAMES
from inference.results import BodyFit
from tests.processes import children

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample_photo.jpg"


def fit_cli(*args):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "inference", "fit", *map(str, args)], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=300)


def _error_lines(res):
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr, res.stderr
    return [ln for ln in res.stderr.strip().splitlines() if ln.startswith("error:")]


@pytest.fixture(scope="module")
def sample_fit(tmp_path_factory):
    out = tmp_path_factory.mktemp("fit") / "sample.json"
    res = fit_cli(SAMPLE, "--out", out, "--body", "tiny", "--device", "cpu")
    assert res.returncode == 0, res.stderr
    return json.loads(out.read_text())


def test_fit_writes_every_bodyfit_field(sample_fit):
    fields = {f.name for f in dataclasses.fields(BodyFit)}
    assert fields <= set(sample_fit), fields - set(sample_fit)
    assert np.asarray(sample_fit["pose"]).shape == (24, 3)
    assert np.asarray(sample_fit["keypoints2d"]).shape == (33, 3)
    assert list(sample_fit["joints3d"]) == list(SMPL_JOINT_NAMES)
    assert set(sample_fit["camera"]) == {"fx", "fy", "cx", "cy", "width", "height"}
    assert (sample_fit["camera"]["width"], sample_fit["camera"]["height"]) == (640.0, 425.0)  # the photo's size
    assert {"load", "detect", "regress", "fit"} <= set(sample_fit["timings"])
    assert sample_fit["body_model"] == "tiny"


def test_fitted_joints_land_on_the_detected_keypoints(sample_fit):
    """Projected fitted joints vs MediaPipe's own keypoints for the same joints: within a few % of the body."""
    fit = BodyFit.from_json_dict(sample_fit)
    assert np.all(fit.joints3d[:, 2] > 0.5)  # in front of the camera
    uv = fit.camera.project(fit.joints3d)
    pairs = {"left_shoulder": 11, "right_shoulder": 12, "left_elbow": 13, "right_elbow": 14, "left_wrist": 15,
             "right_wrist": 16, "left_knee": 25, "right_knee": 26, "left_ankle": 27, "right_ankle": 28}
    kp = fit.keypoints2d
    height = np.ptp(kp[:, 1])
    for name, m in pairs.items():
        err = np.linalg.norm(uv[SMPL_JOINT_NAMES.index(name)] - kp[m, :2])
        assert err < 0.06 * height, (name, err, height)
    # upright: the head above the pelvis in the photo
    assert fit.joints3d[SMPL_JOINT_NAMES.index("head"), 1] < fit.joints3d[0, 1]  # camera y points down


def test_text_file_named_jpg_exits_2_with_one_line(tmp_path):
    fake = tmp_path / "photo.jpg"
    fake.write_text("this is not a photo\n")
    res = fit_cli(fake, "--out", tmp_path / "out.json")
    assert _error_lines(res) and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not (tmp_path / "out.json").exists()


def test_image_without_a_person_exits_2(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    img = np.clip(rng.normal(128, 20, (240, 320, 3)), 0, 255).astype(np.uint8)  # texture, no person
    Image.fromarray(img).save(tmp_path / "empty.png")
    res = fit_cli(tmp_path / "empty.png", "--out", tmp_path / "out.json", "--body", "tiny")
    lines = _error_lines(res)
    assert len(lines) == 1 and "person" in lines[0], res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr  # found in a child (detect_ahead): still one line
    assert not (tmp_path / "out.json").exists()


def test_unusable_checkpoint_exits_2(tmp_path):
    bad = tmp_path / "model_checkpoint.pt"
    bad.write_bytes(b"not a checkpoint")
    res = fit_cli(SAMPLE, "--out", tmp_path / "out.json", "--body", "tiny", "--checkpoint", bad)
    lines = _error_lines(res)
    assert len(lines) == 1, res.stderr


# ------------------------------------------------------ --out that cannot be written (issue 14, case 6)

def _mount_or_skip(path, **kw):
    sys.path.insert(0, str(REPO / "tests"))
    import hostile_media

    cm = hostile_media.small_tmpfs(path, **kw)
    try:
        cm.__enter__()
    except PermissionError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(str(exc))
    return hostile_media, cm


def test_out_into_a_read_only_folder_exits_2_before_the_work(tmp_path):
    """Tests run as root, whom mode bits do not stop: a read-only mount does. It used to fail after the fit."""
    _, cm = _mount_or_skip(tmp_path / "ro", size="64k", read_only=True)
    try:
        res = fit_cli(SAMPLE, "--out", tmp_path / "ro" / "fit.json", "--body", "tiny", "--device", "cpu")
        lines = _error_lines(res)
        assert len(lines) == 1 and "read-only" in lines[0] and "--out" in lines[0], res.stderr
        assert "detect" not in res.stderr  # refused before the work (no timings printed)
    finally:
        cm.__exit__(None, None, None)


def test_full_disk_exits_2_with_one_line_and_no_file(tmp_path):
    hm, cm = _mount_or_skip(tmp_path / "full", size="64k")
    try:
        hm.fill_up(tmp_path / "full" / "filler")
        res = fit_cli(SAMPLE, "--out", tmp_path / "full" / "fit.json", "--body", "tiny", "--device", "cpu")
        lines = _error_lines(res)
        assert len(lines) == 1 and "No space left" in lines[0], res.stderr
        assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["filler"]
    finally:
        cm.__exit__(None, None, None)


@pytest.mark.parametrize("name", ["", "fit.txt", "DIR", "FILE/fit.json"])
def test_bad_out_names_exit_2_with_one_line(tmp_path, name):
    (tmp_path / "FILE").write_text("x")
    out = {"": "", "DIR": tmp_path}.get(name, tmp_path / name)
    res = fit_cli(SAMPLE, "--out", out, "--body", "tiny", "--device", "cpu")
    lines = _error_lines(res)
    assert len(lines) == 1 and "--out" in lines[0], res.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the detection child is forked on Linux only")
def test_sigint_while_the_detection_child_runs_leaves_no_process(tmp_path):
    """SIGINT to the CLI alone (not its group) while its detection child runs: exit 130 and the child is gone."""
    import signal
    import time

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "inference", "fit", str(SAMPLE), "--out",
                             str(tmp_path / "out.json"), "--device", "cpu"], cwd=REPO, env=env,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not children(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert children(proc.pid), "the CLI started no detection child"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        assert "Traceback" not in err and err.strip().splitlines()[-1] == "interrupted", err
        time.sleep(0.2)
        with pytest.raises(ProcessLookupError):
            os.killpg(proc.pid, 0)  # nobody left in the CLI's process group
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_the_quick_exit_keeps_exit_handlers_output_and_code(tmp_path):
    """`python -m inference` ends a process that loaded torch without finalising the interpreter (its teardown
    costs ~0.3 s): the exit handlers registered before still run, everything printed arrives, the code is kept."""
    code = ("import atexit, runpy, sys\n"
            "atexit.register(print, 'exit handler ran', flush=False)\n"
            "sys.argv = ['inference', *sys.argv[1:]]\n"
            "runpy.run_module('inference', run_name='__main__')\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = lambda *a: subprocess.run([sys.executable, "-c", code, "fit", *map(str, a)],  # noqa: E731
                                    capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    out = tmp_path / "fit.json"
    ok = run(SAMPLE, "--out", out, "--body", "tiny", "--device", "cpu")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "exit handler ran\n" and ok.stderr.splitlines()[-1].startswith("wrote "), ok
    assert json.loads(out.read_text())["pose"]
    bad = run(tmp_path / "missing.jpg", "--out", tmp_path / "x.json", "--body", "tiny")
    assert bad.returncode == 2 and "exit handler ran" in bad.stdout and bad.stderr.startswith("error:"), bad
