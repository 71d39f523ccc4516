"""The rendered people's faces (scripts/synthetic_face.py): features where a face has them on the open body.

Checked against anatomy in the head's rest frame (the face toward +Z, the body's left +X), not against the
module's own numbers: two eyes mirrored about the mid-plane, in front of the head joint, brows above the eyes,
the mouth below them and the nose, nothing painted on the back of the head.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from inference.body.skeleton import JOINT_INDEX as J

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import synthetic_face as sf  # noqa: E402


@pytest.fixture(scope="module")
def head():
    from inference.body.open_body import load_open_body

    data = load_open_body()
    shaped, joints = data.shaped(None)
    labels = sf.face_features(shaped, joints, data.f, J["head"])
    centre = shaped[data.f].mean(1) - joints[J["head"]]
    tri = shaped[data.f]
    area = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1) / 2
    return labels, centre, shaped - joints[J["head"]], area


def side(centre, mask, sign):
    return mask & (np.sign(centre[:, 0]) == sign)


def test_two_eyes_mirrored_in_front_of_the_head(head):
    labels, c, v, _ = head
    eye = np.isin(labels, (sf.EYE_WHITE, sf.IRIS))
    for part in (eye, labels == sf.IRIS):
        left, right = side(c, part, 1), side(c, part, -1)
        assert left.sum() >= 3 and right.sum() >= 3
        assert abs(left.sum() - right.sum()) <= 0.1 * part.sum()
        ml, mr = c[left].mean(0), c[right].mean(0)
        assert np.allclose(ml * [-1, 1, 1], mr, atol=0.002), (ml, mr)  # mirror images about x = 0
        assert 0.02 < ml[0] < 0.045  # an adult's eyes: 55-70 mm apart
    nose_tip = v[:, 2][np.abs(v[:, 1]) < 0.05].max()
    assert c[eye, 2].min() > 0.0 and c[eye, 2].max() < nose_tip  # in front of the joint, behind the nose's tip
    # the iris looks forward: the front of each eyeball
    for s in (1, -1):
        assert c[side(c, labels == sf.IRIS, s), 2].min() > c[side(c, labels == sf.EYE_WHITE, s), 2].mean()


def test_brows_above_the_eyes_and_the_mouth_below(head):
    labels, c, *_ = head
    eye = np.isin(labels, (sf.EYE_WHITE, sf.IRIS))
    lips = labels == sf.LIPS
    for s in (1, -1):
        brow, iris = side(c, labels == sf.BROW, s), side(c, labels == sf.IRIS, s)
        assert brow.sum() >= 5
        assert c[brow, 1].min() > c[iris, 1].max()  # over the iris
        assert abs(c[brow, 0].mean() - c[iris, 0].mean()) < 0.012  # over the eye, not beside it
    assert lips.sum() >= 20
    assert c[lips, 1].max() < c[labels == sf.NOSTRIL, 1].min() < c[eye, 1].min()
    assert abs(c[lips, 0].mean()) < 0.002 and np.ptp(c[lips, 0]) < 0.06  # centred, narrower than the face
    assert c[labels != sf.NONE, 2].min() > 0.0  # nothing on the back of the head


def test_face_colours_from_their_own_stream_only():
    skin, hair = np.array([0.7, 0.5, 0.4]), np.array([0.2, 0.15, 0.1])
    a = sf.face_colours(skin, hair, np.random.default_rng(3))
    b = sf.face_colours(skin, hair, np.random.default_rng(3))
    assert np.array_equal(a, b) and a.shape == (len(sf.LABELS), 3)
    assert a[sf.IRIS].sum() < a[sf.EYE_WHITE].sum() / 2  # a dark iris on a white
    assert a[sf.LIPS, 0] > a[sf.LIPS, 1] and a[sf.LIPS].sum() < skin.sum()  # redder and darker than the skin


def test_every_feature_mirrored_about_the_mid_plane(head):
    labels, c, *_ = head
    for label in range(1, len(sf.LABELS)):
        part = labels == label
        left, right = side(c, part, 1), side(c, part, -1)
        assert left.any() and right.any(), sf.LABELS[label]
        ml, mr = c[left].mean(0), c[right].mean(0)
        assert np.allclose(ml * [-1, 1, 1], mr, atol=0.002), (sf.LABELS[label], ml, mr)


def test_lashes_ring_the_eyes(head):
    labels, c, _, area = head
    for s in (1, -1):
        lash, ball = side(c, labels == sf.LASHES, s), side(c, np.isin(labels, (sf.EYE_WHITE, sf.IRIS)), s)
        mid = (c[ball].min(0) + c[ball].max(0)) / 2
        d = c[lash] - mid
        assert np.linalg.norm(d, axis=1).max() < 0.025  # around that eye
        assert (d[:, 1] > 0.004).any() and (d[:, 1] < -0.002).any()  # on both lids
        assert (d[:, 0] > 0.008).any() and (d[:, 0] < -0.008).any()  # at both corners
        assert area[lash].sum() < 0.5 * area[labels == sf.LIPS].sum()  # a rim, not a mask
