"""The preview sheet's pieces (inference.preview): frame sampling, the sheet's layout, the side view's geometry
checked against hand-worked projections, and the body drawn through a camera where the pinhole formula puts it."""

from __future__ import annotations

import numpy as np
import pytest

from inference import preview as pv
from inference.camera import CameraPath
from inference.results import MotionFit


def test_sample_frames_spans_the_motion():
    assert pv.sample_frames(90, 8).tolist() == [0, 13, 25, 38, 51, 64, 76, 89]
    assert pv.sample_frames(3, 8).tolist() == [0, 1, 2]
    assert pv.sample_frames(5, 1).tolist() == [0]


def test_video_frame_index_follows_start_and_stride():
    m = MotionFit(pose=np.zeros((4, 24, 3)), transl=np.zeros((4, 3)), betas=np.zeros(10), fps=15.0,
                  metadata={"start_frame": 7, "stride": 2})
    assert pv.video_frame_index(m, np.arange(4)).tolist() == [7, 9, 11, 13]


def test_panel_size_keeps_the_aspect_within_the_limits():
    assert pv.panel_size(360, 640) == (202, 360)
    w, h = pv.panel_size(1920, 1080)
    assert w <= pv.PANEL_WIDTH and h <= pv.PANEL_HEIGHT and abs(w / h - 16 / 9) < 0.01


def test_sheet_layout_puts_each_panel_in_its_place():
    rng = np.random.default_rng(0)
    colours = rng.integers(0, 255, size=(2, 3, 3))
    rows = [[np.full((20, 30, 3), colours[r, c], np.uint8) for c in range(3)] for r in range(2)]
    sheet = pv.compose_sheet(rows, "title")
    m, t = pv.MARGIN, pv.TITLE
    assert sheet.shape == (t + m + 2 * (20 + m), m + 3 * (30 + m), 3)
    for r in range(2):
        for c in range(3):
            x, y = m + c * (30 + m), t + m + r * (20 + m)
            assert (sheet[y:y + 20, x:x + 30] == colours[r, c]).all()  # whole, not overlapped
            assert (sheet[y - 1, x:x + 30] == 255).all() and (sheet[y:y + 20, x - 1] == 255).all()  # margins


def test_side_view_axes_and_scale():
    view = pv.side_view([1.0, 0.0, 0.0], (200, 360), elevation=np.radians(15))
    basis = np.stack([view.right, view.down, view.forward])
    assert np.allclose(basis @ basis.T, np.eye(3), atol=1e-12)
    assert np.allclose(view.forward, [np.cos(np.radians(15)), -np.sin(np.radians(15)), 0.0])
    centre = np.array([0.0, 1.1, 0.0])
    # a 1 m vertical pole under the centre: straight down the image, 1 m · scale · cos(15°) long, centred in x
    xy, depth = view.project(np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), centre)
    assert np.allclose(xy[:, 0], 100.0)
    assert xy[0, 1] - xy[1, 1] == pytest.approx(view.scale * np.cos(np.radians(15)))
    assert view.scale == pytest.approx(360 / pv.SIDE_SPAN_M)
    # looking along +x, a point nearer the viewer (smaller x) has the smaller depth
    _, d = view.project(np.array([[-1.0, 1.1, 0.0], [1.0, 1.1, 0.0]]), centre)
    assert d[0] < d[1]


def test_the_body_is_drawn_where_the_pinhole_formula_projects_it(tiny_data):
    """A standing body 5 m in front of a still camera: the overlay's box equals its projected vertices' box."""
    betas = np.zeros(tiny_data.num_betas)
    m = MotionFit(pose=np.zeros((1, 24, 3)), transl=[[0.2, -0.8, -5.0]], betas=betas, fps=30.0)
    verts = pv.body_vertices(m, tiny_data, [0])[0]
    cam = pv.still_camera(1, 320, 240)
    assert cam.intrinsics.fx == pytest.approx(400.0)  # the diagonal of 320 x 240
    image = np.zeros((240, 320, 3), np.uint8)
    out, mask = pv.render_over(image, verts, tiny_data.f, cam, 0)
    # independent: world → camera is the inverse of R_x(pi), a flip of y and z
    pc = verts * [1.0, -1.0, -1.0]
    uv = pc[:, :2] / pc[:, 2:] * 400.0 + [160.0, 120.0]
    v, u = np.nonzero(mask)
    assert abs(u.min() - uv[:, 0].min()) <= 1.5 and abs(u.max() + 1 - uv[:, 0].max()) <= 1.5
    assert abs(v.min() - uv[:, 1].min()) <= 1.5 and abs(v.max() + 1 - uv[:, 1].max()) <= 1.5
    assert (out[mask] > 0).all() and (out[~mask] == 0).all()
    # the same body seen from a camera moved 1 m to the right (world +x) shifts left by f · 1 m / depth
    moved = CameraPath(cam.rotation, np.array([[1.0, 0.0, 0.0]]), cam.intrinsics)
    _, mask2 = pv.render_over(image, verts, tiny_data.f, moved, 0)
    shift = np.nonzero(mask2)[1].mean() - u.mean()
    assert shift == pytest.approx(-400.0 / 5.0, rel=0.05)


def test_a_body_behind_the_camera_is_not_drawn(tiny_data):
    m = MotionFit(pose=np.zeros((1, 24, 3)), transl=[[0.0, 0.0, 3.0]], betas=np.zeros(tiny_data.num_betas),
                  fps=30.0)
    verts = pv.body_vertices(m, tiny_data, [0])[0]
    _, mask = pv.render_over(np.zeros((240, 320, 3), np.uint8), verts, tiny_data.f, pv.still_camera(1, 320, 240), 0)
    assert not mask.any()


def test_side_panel_stands_the_body_on_the_floor_line(tiny_data):
    betas = np.zeros(tiny_data.num_betas)
    lift = -tiny_data.shaped(betas)[0][:, 1].min()  # soles at y = 0
    m = MotionFit(pose=np.zeros((1, 24, 3)), transl=[[0.0, lift, 0.0]], betas=betas, fps=30.0)
    verts = pv.body_vertices(m, tiny_data, [0])[0]
    view = pv.side_view([1.0, 0.0, 0.0], (200, 360))
    image, mask = pv.render_side(verts, tiny_data.f, view)
    xy, _ = view.project(verts, pv.side_centre(verts))
    v = np.nonzero(mask)[0]
    assert abs(v.max() + 1 - xy[:, 1].max()) <= 1.5 and abs(v.min() - xy[:, 1].min()) <= 1.5
    assert image.shape == (360, 200, 3)


def test_motion_camera_prefers_the_motions_own_then_the_still_camera():
    m = MotionFit(pose=np.zeros((2, 24, 3)), transl=np.zeros((2, 3)), betas=np.zeros(10), fps=30.0)
    assert pv.motion_camera(m) is None  # nothing known
    still = pv.motion_camera(m, 360, 640)
    assert still.intrinsics.fx == pytest.approx(np.hypot(360, 640)) and still.intrinsics.cx == 180.0
    assert np.allclose(still.rotation, np.diag([1.0, -1.0, -1.0])) and np.allclose(still.position, 0.0)
    own = CameraPath(still.rotation, still.position + [0.0, 1.5, 0.0], still.intrinsics)
    m.camera = own
    assert pv.motion_camera(m, 100, 100) is own
