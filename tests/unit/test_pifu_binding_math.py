"""PIFu binding geometry (inference/pifu/binding.py): box → camera mapping, closest points, skinning transforms.

Expected values come from the documented formulas and smplx's forward pass, not from the module.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.blender.rig_helpers import reference_vertices
from tests.pifu_fixtures import CAMERA, fake_crop, fake_fit


# ------------------------------------------------------------------------------------------- box → camera


def test_crop_centre_and_corners_project_to_their_pixels():
    from inference.pifu.binding import pifu_to_camera

    rng = np.random.default_rng(1)
    joints = rng.normal([0.1, 0.2, 3.5], 0.2, size=(24, 3))
    z0 = joints[:, 2].mean()
    fit, crop = fake_fit(joints), fake_crop()
    box = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [-1.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
    cam = pifu_to_camera(box, crop, fit)
    u = CAMERA["fx"] * cam[:, 0] / cam[:, 2] + CAMERA["cx"]
    v = CAMERA["fy"] * cam[:, 1] / cam[:, 2] + CAMERA["cy"]
    x0, y0, s = 10.0, 40.0, 900.0
    # Centre → centre pixel; box (+1,+1) (right, up) → the square's top-right; (−1,−1) → bottom-left.
    np.testing.assert_allclose(np.c_[u, v][:3], [[x0 + s / 2, y0 + s / 2], [x0 + s, y0], [x0, y0 + s]], atol=1e-9)
    np.testing.assert_allclose(cam[:3, 2], z0, atol=1e-12)  # placed at the body's mean joint depth
    # One box unit toward the camera = half the crop side in pixels at depth z0, nearer to the camera.
    assert cam[3, 2] == pytest.approx(z0 - (s / 2) * z0 / CAMERA["fx"])
    # Lengths: one box unit across = (side/2) px at z0 = (side/2)·z0/fx metres.
    assert cam[1, 0] - cam[0, 0] == pytest.approx((s / 2) * z0 / CAMERA["fx"])


def test_skinning_transforms_match_the_body_model():
    """skinning_transforms + LBS of the model's own weights reproduce BodyModel's (smplx's) vertices."""
    from inference.body.kinematics import skinning_transforms

    from inference.body import tiny_model

    data = tiny_model()
    rng = np.random.default_rng(3)
    pose, betas, transl = rng.normal(0, 0.4, (24, 3)), rng.normal(0, 0.5, 10), np.array([0.2, -0.1, 1.5])
    rest = data.v_template + data.shapedirs @ betas
    a = skinning_transforms(pose, data.J_regressor @ rest, transl)
    m = np.einsum("nj,jab->nab", data.weights, a)
    mine = np.einsum("nab,nb->na", m[:, :3, :3], rest) + m[:, :3, 3]
    np.testing.assert_allclose(mine, reference_vertices(data, pose[None], betas, transl[None])[0], atol=1e-9)


def test_closest_point_on_a_triangle_in_every_region():
    from inference.pifu.binding import closest_points_on_mesh

    verts = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    pts = np.array([[0.2, 0.2, 1.0], [2.0, -1.0, 0.3], [0.5, -1.0, 0.0], [1.0, 1.0, -2.0], [-1, -1, 0],
                    [-1.0, 0.5, 0.0], [-0.1, 3.0, 0.0]])
    want = np.array([[0.2, 0.2, 0], [1, 0, 0], [0.5, 0, 0], [0.5, 0.5, 0], [0, 0, 0], [0, 0.5, 0], [0, 1, 0]])
    _, bary, q, d = closest_points_on_mesh(pts, verts, np.array([[0, 1, 2]]))
    np.testing.assert_allclose(q, want, atol=1e-12)
    np.testing.assert_allclose(d, np.linalg.norm(pts - want, axis=1), atol=1e-12)
    np.testing.assert_allclose(bary.sum(1), 1.0, atol=1e-12)
