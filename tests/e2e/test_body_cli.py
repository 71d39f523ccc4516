"""`python -m inference body ...` as a user runs it: a real subprocess, exit codes, one-line errors."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.body import tiny_model
from inference.body.smpl_io import load_body_model, save_body_model

REPO = Path(__file__).resolve().parents[2]


def body_cli(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "inference", "body", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd or REPO, env=env, timeout=120)


def _assert_one_line_error(res, *words):
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture(scope="module")
def model_pkl(tmp_path_factory):
    data = tiny_model(pose_correctives=True)
    return data, save_body_model(data, tmp_path_factory.mktemp("cli") / "SMPL_NEUTRAL.pkl")


@pytest.mark.parametrize("suffix", [".npz", ".pkl"])
def test_convert_writes_a_loadable_model(tmp_path, model_pkl, suffix):
    data, src = model_pkl
    out = tmp_path / f"converted{suffix}"
    res = body_cli("convert", src, "--out", out)
    assert res.returncode == 0, res.stderr
    assert str(out) in res.stdout
    loaded = load_body_model(out)
    for key in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "f"):
        np.testing.assert_array_equal(getattr(loaded, key), getattr(data, key), err_msg=key)


def test_convert_bad_inputs_exit_2_with_one_line(tmp_path, model_pkl):
    _, src = model_pkl
    _assert_one_line_error(body_cli("convert", tmp_path / "missing.pkl", "--out", tmp_path / "o.npz"),
                           "error:", "does not exist")
    evil = tmp_path / "evil.pkl"
    marker = tmp_path / "pwned"
    evil.write_bytes(f"cos\nsystem\n(S'touch {marker}'\ntR.".encode())
    _assert_one_line_error(body_cli("convert", evil, "--out", tmp_path / "o.npz"), "refusing", "os.system")
    assert not marker.exists()
    cut = tmp_path / "cut.pkl"
    cut.write_bytes(src.read_bytes()[:1000])
    _assert_one_line_error(body_cli("convert", cut, "--out", tmp_path / "o.npz"), "truncated or corrupt")
    mano = tmp_path / "MANO_RIGHT.pkl"
    d = tiny_model().to_smpl_dict()
    d["kintree_table"] = d["kintree_table"][:, :16]
    mano.write_bytes(pickle.dumps(d, protocol=2))
    _assert_one_line_error(body_cli("convert", mano, "--out", tmp_path / "o.npz"), "MANO", "24 joints")
    _assert_one_line_error(body_cli("convert", src, "--out", tmp_path / "o.obj"), ".npz or .pkl")
    assert not (tmp_path / "o.npz").exists() and not (tmp_path / "o.obj").exists()


def test_info(model_pkl):
    res = body_cli("info", "tiny")
    assert res.returncode == 0, res.stderr
    t = tiny_model()
    assert f"vertices:           {t.num_vertices}" in res.stdout
    assert f"faces:              {len(t.f)}" in res.stdout
    assert "shape components:   10" in res.stdout and "pose correctives:   no" in res.stdout
    res = body_cli("info", model_pkl[1])
    assert res.returncode == 0 and "pose correctives:   yes" in res.stdout, res.stderr
    assert "joints:             25" in res.stdout


def test_info_missing_file_one_line(tmp_path):
    _assert_one_line_error(body_cli("info", tmp_path / "SMPL_MALE.pkl"), "not found")


def test_no_action_is_a_one_line_error():
    _assert_one_line_error(body_cli(), "convert|info|open")


def test_convert_out_paths_refused_before_reading(tmp_path, model_pkl):
    """--out onto a folder, under a file or empty used to end in a traceback after the conversion."""
    _, src = model_pkl
    (tmp_path / "file").write_text("x")
    _assert_one_line_error(body_cli("convert", src, "--out", tmp_path), "error:", "is a folder")
    _assert_one_line_error(body_cli("convert", src, "--out", tmp_path / "file" / "m.npz"), "error:", "not a folder")
    _assert_one_line_error(body_cli("convert", src, "--out", ""), "error:", "empty")
