"""The open body's cache file (inference.body.open_body_cache): round trip, and refusal of anything not whole."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from inference.body import open_body_cache as oc
from inference.body.tiny import tiny_model

STAMP = "stamp-1"


def _model(pose_correctives=False):
    data = tiny_model(pose_correctives=pose_correctives)
    data.metadata = {"build_stamp": STAMP}
    return data


@pytest.mark.parametrize("pose_correctives", [False, True])
def test_round_trip_keeps_every_array(tmp_path, pose_correctives):
    data = _model(pose_correctives)
    path = oc.write_cache(data, tmp_path / "body.npz")
    back = oc.read_cache(path, STAMP)
    assert back is not None
    for key in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f"):
        np.testing.assert_array_equal(getattr(back, key), getattr(data, key), err_msg=key)
    assert back.extra_vertex_ids == data.extra_vertex_ids and back.metadata == data.metadata
    assert back.has_pose_correctives == pose_correctives


def test_all_zero_posedirs_are_not_stored(tmp_path):
    path = oc.write_cache(_model(), tmp_path / "body.npz")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}  # nothing to inflate
    assert "posedirs.npy" not in names and "posedirs_zero_shape.npy" in names


def test_another_build_stamp_is_stale(tmp_path):
    path = oc.write_cache(_model(), tmp_path / "body.npz")
    assert oc.read_cache(path, "another-build") is None


def _rewrite(path, edit):
    """Rewrite the zip with edit(name, bytes) -> bytes applied to each member."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, raw in members.items():
            zf.writestr(name, edit(name, raw))


def test_a_changed_value_is_refused(tmp_path):
    path = oc.write_cache(_model(), tmp_path / "body.npz")

    def flip_one_value(name, raw):
        if name != "v_template.npy":
            return raw
        b = bytearray(raw)
        b[-3] ^= 0x40  # a valid .npy and zip still: only the digest can tell
        return bytes(b)

    _rewrite(path, flip_one_value)
    assert oc.read_cache(path, STAMP) is None


def test_a_dropped_member_is_refused(tmp_path):
    path = oc.write_cache(_model(), tmp_path / "body.npz")
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist() if n != "weights.npy"}
    with zipfile.ZipFile(path, "w") as zf:
        for name, raw in members.items():
            zf.writestr(name, raw)
    assert oc.read_cache(path, STAMP) is None


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.99])
def test_a_truncated_file_is_refused(tmp_path, keep):
    path = oc.write_cache(_model(), tmp_path / "body.npz")
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])
    assert oc.read_cache(path, STAMP) is None


def test_format_1_and_pickled_members_are_refused(tmp_path):
    from inference.body.smpl_io import save_body_model

    old = save_body_model(_model(), tmp_path / "old.npz")  # format 1: a compressed SMPL .npz, no digest
    assert oc.read_cache(old, STAMP) is None
    evil = tmp_path / "evil.npz"
    np.savez(evil, digest=np.array([{"x": 1}], dtype=object), cache_format=np.array(2))
    assert oc.read_cache(evil, STAMP) is None
    assert oc.read_cache(tmp_path / "missing.npz", STAMP) is None


def test_load_open_body_rebuilds_a_damaged_cache(tmp_path, monkeypatch):
    from inference.body import open_body

    built = []
    stamp = open_body.build_stamp()

    def fake_build(**_):
        data = tiny_model()
        data.metadata = {"build_stamp": stamp}
        built.append(data)
        return data

    monkeypatch.setenv("BODYRIG_CACHE", str(tmp_path))
    monkeypatch.setattr(open_body, "build_open_body", fake_build)
    monkeypatch.setattr(open_body, "_loaded", {})
    first = open_body.load_open_body(progress=False)
    assert len(built) == 1 and (tmp_path / open_body.CACHE_NAME).is_file()
    monkeypatch.setattr(open_body, "_loaded", {})
    again = open_body.load_open_body(progress=False)
    assert len(built) == 1  # read back, not rebuilt
    np.testing.assert_array_equal(again.v_template, first.v_template)
    cached = tmp_path / open_body.CACHE_NAME
    cached.write_bytes(cached.read_bytes()[:1000])
    monkeypatch.setattr(open_body, "_loaded", {})
    open_body.load_open_body(progress=False)
    assert len(built) == 2  # damaged: rebuilt, not trusted
    assert oc.read_cache(cached, stamp) is not None
