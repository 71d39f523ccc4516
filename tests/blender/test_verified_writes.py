"""Exports and .blend saves onto a full disk, or whose writer claims success over a truncated file: a one-line
BodyRigError, nothing under the final name, no temporary left (issue 14, case 1)."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from inference.errors import BodyRigError  # noqa: E402
from tests.batch_hostile import fill, tmpfs  # noqa: E402


@pytest.fixture
def character(tiny_data):
    from bodyrig.operators.animate import animate
    from bodyrig.operators.rig import build_character

    ch = build_character(tiny_data, betas=np.zeros(10))
    animate(ch, np.zeros((3, 24, 3)), np.zeros((3, 3)), fps=30)
    return ch


@pytest.fixture
def full_disk(tmp_path):
    with tmpfs(tmp_path / "full", "256k") as folder:
        fill(folder)
        yield folder


def _left(folder):
    return sorted(p.name for p in folder.iterdir() if p.name != "filler.bin")


@pytest.mark.parametrize("fmt", ["fbx", "glb", "bvh"])
def test_export_onto_a_full_disk(character, full_disk, fmt):
    from bodyrig.operators.export import export_character

    with pytest.raises(BodyRigError) as info:
        export_character(character, full_disk / f"c.{fmt}")
    assert "\n" not in str(info.value) and "space" in str(info.value).lower(), str(info.value)
    assert _left(full_disk) == []


def test_save_blend_onto_a_full_disk(character, full_disk):
    from bodyrig.operators.photo_scene import save_blend

    with pytest.raises(BodyRigError) as info:
        save_blend(full_disk / "scene.blend")
    assert "\n" not in str(info.value) and "space" in str(info.value).lower(), str(info.value)
    assert _left(full_disk) == []


def test_exporter_claiming_success_over_a_truncated_glb(character, tmp_path, monkeypatch):
    from bodyrig.operators import export

    real = export._EXPORTERS["glb"]

    def truncating(filepath, frames):
        result = real(filepath, frames)
        with open(filepath, "r+b") as fh:
            fh.truncate(fh.seek(0, 2) // 2)
        return result

    monkeypatch.setitem(export._EXPORTERS, "glb", truncating)
    with pytest.raises(BodyRigError, match="c.glb was not written completely"):
        export.export_character(character, tmp_path / "c.glb")
    assert list(tmp_path.iterdir()) == []
