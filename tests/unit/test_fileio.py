"""Atomic writes: all or nothing under the final name, and ordinary file permissions."""

import os
import stat

import pytest

from inference.fileio import atomic_path, atomic_write_text


def test_written_file_has_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644
    assert (tmp_path / "a.json").read_text() == "{}"


def test_failure_leaves_neither_target_nor_temporary(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "b.npz") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_replaced_only_on_success(tmp_path):
    target = tmp_path / "c.txt"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_text("new, half")
            raise KeyboardInterrupt
    assert target.read_text() == "old"
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and len(list(tmp_path.iterdir())) == 1
