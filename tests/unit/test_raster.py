"""The software rasteriser (inference.raster) against independent references: a triangle's covered pixels
counted by hand, OpenCV's own polygon filling, a cube's silhouette from its analytic projection, and depth order."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference import raster


def _point_edge_distance(p, a, b):
    """Distances from points p [N,2] to the segment a-b."""
    ab = b - a
    t = np.clip(((p - a) @ ab) / (ab @ ab), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)


def test_right_triangle_covers_the_pixels_counted_by_hand():
    # legs along x = 2 and y = 2, hypotenuse x + y = 14: pixel (u, v) (centre u+.5, v+.5) is inside when
    # u >= 2, v >= 2 and u + v <= 13 → 1 + 2 + ... + 10 = 55 pixels
    face, zbuf = raster.rasterize([[2, 2], [12, 2], [2, 12]], [1.0, 1.0, 1.0], [[0, 1, 2]], 16, 16)
    v, u = np.nonzero(face == 0)
    expected = {(a, b) for a in range(16) for b in range(16) if a >= 2 and b >= 2 and a + b <= 13}
    assert set(zip(u.tolist(), v.tolist())) == expected and len(expected) == 55
    assert np.isinf(zbuf[face < 0]).all() and np.allclose(zbuf[face == 0], 1.0)


@pytest.mark.parametrize("seed", range(5))
def test_random_triangles_match_opencv_fill_except_on_their_edges(seed):
    rng = np.random.default_rng(seed)
    w, h = 64, 48
    tri = rng.uniform([-5, -5], [w + 5, h + 5], size=(3, 2))
    face, _ = raster.rasterize(tri, np.zeros(3), [[0, 1, 2]], w, h)
    ref = np.zeros((h, w), np.uint8)
    # OpenCV's pixel centres are at integer coordinates: shift by half a pixel; 8 fractional bits
    cv2.fillPoly(ref, [np.round((tri - 0.5) * 256).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=8)
    ours = face == 0
    assert ours.sum() > 0 or ref.sum() == 0
    v, u = np.nonzero(ours != ref.astype(bool))
    centres = np.stack([u + 0.5, v + 0.5], axis=1)
    if len(centres):
        d = np.min([_point_edge_distance(centres, tri[i], tri[(i + 1) % 3]) for i in range(3)], axis=0)
        assert d.max() < 1.0  # they only disagree about pixels on the outline
    # and the count is the triangle's area inside the image (OpenCV's fill is generous on the outline)
    area, clipped = cv2.intersectConvexConvex(tri.astype(np.float32),
                                              np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32))
    if area > 0:
        perimeter = cv2.arcLength(clipped.astype(np.float32), True)
        assert abs(int(ours.sum()) - area) <= 0.25 * perimeter + 1, (ours.sum(), area, perimeter)


def _cube(size=1.0, centre=(0.0, 0.0, 5.0), angle=0.6):
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float) * size / 2
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]) @ np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    verts = corners @ rot.T + centre
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = [(q[0], q[1], q[2]) for q in quads] + [(q[0], q[2], q[3]) for q in quads]
    return verts, np.array(faces)


def test_cube_silhouette_equals_the_hull_of_its_projected_corners():
    verts, faces = _cube()
    f, w, h = 300.0, 200, 160
    xy = verts[:, :2] / verts[:, 2:] * f + [w / 2, h / 2]  # the analytic pinhole projection
    face, _ = raster.rasterize(xy, -1.0 / verts[:, 2], faces, w, h)
    hull = cv2.convexHull(np.round((xy - 0.5) * 256).astype(np.int32))
    ref = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(ref, hull, 1, lineType=cv2.LINE_8, shift=8)
    ours, ref = face >= 0, ref.astype(bool)
    iou = (ours & ref).sum() / (ours | ref).sum()
    assert iou > 0.97, iou


def test_the_nearer_triangle_wins_in_either_order():
    xy = np.array([[0, 0], [20, 0], [0, 20], [0, 0], [20, 0], [0, 20]], float)
    depth = np.array([2.0, 2.0, 2.0, 1.0, 1.0, 1.0])  # the second triangle is nearer
    for faces, near in (([[0, 1, 2], [3, 4, 5]], 1), ([[3, 4, 5], [0, 1, 2]], 0)):
        face, zbuf = raster.rasterize(xy, depth, faces, 20, 20)
        assert (face[face >= 0] == near).all() and np.allclose(zbuf[face >= 0], 1.0)
    # a tilted triangle crossing a flat one: each wins where its own depth is smaller
    xy2 = np.array([[0, 0], [20, 0], [0, 20], [0, 0], [40, 0], [0, 40]], float)
    tilt = np.array([0.0, 4.0, 0.0])  # depth = x / 5 along the tilted one
    face, zbuf = raster.rasterize(xy2, np.r_[np.full(3, 1.0), tilt * 2], [[0, 1, 2], [3, 4, 5]], 20, 20)
    v, u = np.nonzero(face >= 0)
    tilted_depth = (u + 0.5) / 5.0
    expect = np.where(tilted_depth < 1.0, 1, 0)
    expect[(u + v + 1 > 20)] = 1  # outside the flat one: only the tilted one is there
    assert (face[v, u] == expect).all()


def test_batches_give_the_same_image(monkeypatch):
    verts, faces = _cube(size=2.0, centre=(0.2, -0.1, 3.0))
    xy = verts[:, :2] / verts[:, 2:] * 200 + [100, 80]
    whole = raster.rasterize(xy, -1 / verts[:, 2], faces, 200, 160)
    monkeypatch.setattr(raster, "BATCH", 50)
    split = raster.rasterize(xy, -1 / verts[:, 2], faces, 200, 160)
    assert np.array_equal(whole[0], split[0]) and np.array_equal(whole[1], split[1])


def test_offscreen_and_non_finite_triangles_are_skipped():
    xy = np.array([[-50, -50], [-40, -50], [-50, -40], [np.nan, 1], [5, 5], [1, 5]], float)
    face, _ = raster.rasterize(xy, np.zeros(6), [[0, 1, 2], [3, 4, 5]], 10, 10)
    assert (face == -1).all()


def test_lambert_and_paint():
    normals = np.array([[0, 0, 1.0], [0, 0, -1.0], [1.0, 0, 0]])
    shade = raster.lambert(normals, [0, 0, 2.0], ambient=0.3)
    assert np.allclose(shade, [1.0, 1.0, 0.3])  # lit from either side; edge-on gets the ambient only
    image = np.full((2, 2, 3), 100, np.uint8)
    face = np.array([[0, -1], [2, -1]])
    out = raster.paint(image, face, shade, (200, 100, 0), alpha=0.5)
    assert out[0, 1].tolist() == [100, 100, 100] and out[0, 0].tolist() == [150, 100, 50]
    assert out[1, 0].tolist() == [80, 65, 50] and image[0, 0].tolist() == [100, 100, 100]
