"""scripts/render_photo_set.py's faces on a built open-body character (no rendering): the features get their own
materials, and the scene's random stream draws exactly what it drew without faces, so that a --seed renders the
same poses, clothes, lights and backgrounds with or without them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))


@pytest.fixture(scope="module")
def open_data():
    from inference.body.load import load_body

    return load_body("open")


def dressed(open_data, seed, faces):
    import render_photo_set as rps
    from bodyrig.operators.rig import build_character

    char = build_character(open_data, name=f"Person{int(faces)}")
    rng = np.random.default_rng(seed)
    rps.dress(char, open_data, rng, np.random.default_rng([seed, 7]) if faces else None)
    mesh = char.mesh.data
    index = np.zeros(len(mesh.polygons), np.int32)
    mesh.polygons.foreach_get("material_index", index)
    return index, [m.name for m in mesh.materials], rng.uniform(size=4)


@pytest.mark.parametrize("seed", [0, 16])
def test_faces_leave_the_scene_stream_alone(open_data, seed):
    import synthetic_face as sf
    from inference.body.skeleton import JOINT_INDEX

    plain, plain_mats, plain_next = dressed(open_data, seed, faces=False)
    faced, faced_mats, faced_next = dressed(open_data, seed, faces=True)
    assert np.array_equal(plain_next, faced_next)  # the sun and sky, drawn after dress(), are the same
    assert len(plain_mats) == 5 and len(faced_mats) == 5 + len(sf.LABELS) - 1
    changed = plain != faced
    head = open_data.weights[open_data.f].sum(1).argmax(1) == JOINT_INDEX["head"]
    assert changed.any() and not (changed & ~head).any()  # the head only
    assert changed.sum() < 0.25 * head.sum()  # a face on it, not a repainted head
    # only skin (and the hidden top of an eyeball under the hair) becomes a face; clothes stay as they were
    assert set(np.unique(plain[changed])) <= {0, 4}
    named = np.array(faced_mats)[faced]
    for label in ("eye_white", "iris", "brow", "lips"):
        assert (named == f"Face {label}").sum() >= 5, label
