"""Surface extraction on fields whose answer is known: analytic signed-distance shapes.

The dense grid is checked against the analytic inside test and the mesh against the analytic volume; then the
coarse-to-fine strategies are checked against the dense grid (lossless: identical occupancy and mesh; fast:
IoU >= 0.99), each with far fewer evaluations.
"""

import math

import numpy as np
import pytest
import torch

from inference.errors import BadInputError
from inference.pifu.surface import extract_occupancy, level_resolutions, marching_cubes

SHARPNESS = 60.0  # occupancy = sigmoid(SHARPNESS * signed distance (positive inside)), like a trained net's


def sphere_sdf(centre, radius):
    c = torch.tensor(centre, dtype=torch.float32)
    return lambda p: radius - (p - c).norm(dim=1)


def torus_sdf(major, minor, centre=(0.05, -0.1, 0.02)):
    c = torch.tensor(centre, dtype=torch.float32)

    def sdf(p):
        q = p - c
        ring = torch.stack([q[:, [0, 2]].norm(dim=1) - major, q[:, 1]], 1)
        return minor - ring.norm(dim=1)
    return sdf


def plate_sdf(half_extent, angle=0.5):
    """A box (half sizes half_extent) tilted about z by `angle` radians: a thin plate when one size is small."""
    b = torch.tensor(half_extent, dtype=torch.float32)
    ca, sa = math.cos(angle), math.sin(angle)
    rot = torch.tensor([[ca, sa, 0], [-sa, ca, 0], [0, 0, 1]], dtype=torch.float32)

    def sdf(p):
        q = (p @ rot.T).abs() - b
        outside = q.clamp(min=0).norm(dim=1) + q.max(dim=1).values.clamp(max=0)
        return -outside
    return sdf


def occupancy(sdf):
    return lambda p: torch.sigmoid(SHARPNESS * sdf(p))


SHAPES = {
    "sphere_small_offcentre": (sphere_sdf((0.31, -0.22, 0.17), 0.25), 4 / 3 * math.pi * 0.25 ** 3),
    "sphere_large_offcentre": (sphere_sdf((-0.1, 0.12, -0.05), 0.7), 4 / 3 * math.pi * 0.7 ** 3),
    "torus": (torus_sdf(0.5, 0.18), 2 * math.pi ** 2 * 0.5 * 0.18 ** 2),
    # 0.16 thick: just above the coarsest spacing (2/16 = 0.125), the thinnest the method guarantees.
    "thin_plate": (plate_sdf((0.6, 0.08, 0.5)), 8 * 0.6 * 0.08 * 0.5),
}


def grid_points(resolution, bounds=(-1.0, 1.0)):
    t = torch.linspace(bounds[0], bounds[1], resolution + 1)
    return torch.stack(torch.meshgrid(t, t, t, indexing="ij"), -1).reshape(-1, 3)


def mesh_volume(v, f):
    tri = v[f].astype(np.float64)
    return np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6


@pytest.fixture(scope="module")
def dense_grids():
    """{(shape, resolution): dense Grid}, built once for the module."""
    return {}


def dense(dense_grids, name, resolution):
    key = (name, resolution)
    if key not in dense_grids:
        dense_grids[key] = extract_occupancy(occupancy(SHAPES[name][0]), resolution, "dense")
    return dense_grids[key]


def test_levels_and_grid_convention():
    assert level_resolutions(256) == [16, 32, 64, 128, 256]
    assert level_resolutions(512) == [16, 32, 64, 128, 256, 512]
    assert level_resolutions(200) == [25, 50, 100, 200]
    g = extract_occupancy(lambda p: (p[:, 0] > 0).float(), 8, "dense", bounds=(-2.0, 2.0))
    assert g.values.shape == (9, 9, 9) and g.evaluated_count == 9 ** 3
    # values[i] is at lo + (hi-lo) * i / resolution: x = -2 + 0.5 i, so x > 0 from i = 5.
    assert (g.values[:5] == 0).all() and (g.values[5:] == 1).all()


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_dense_grid_and_mesh_match_the_analytic_shape(dense_grids, name):
    sdf, volume = SHAPES[name]
    g = dense(dense_grids, name, 128)
    inside = (sdf(grid_points(128)) > 0).numpy().reshape(g.values.shape)
    assert ((g.values > 0.5) == inside).mean() > 0.9999
    v, f = marching_cubes(g)
    assert v.min() >= -1 and v.max() <= 1
    # Outward winding gives a positive volume, close to the analytic one.
    assert mesh_volume(v, f) == pytest.approx(volume, rel=0.03)
    # Every vertex lies on the analytic surface, within a fraction of the grid spacing.
    assert np.abs(sdf(torch.from_numpy(v)).numpy()).max() < 0.5 * 2 / 128


@pytest.mark.parametrize("resolution", [64, 128])
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_lossless_equals_dense_with_far_fewer_evaluations(dense_grids, name, resolution):
    ref = dense(dense_grids, name, resolution)
    g = extract_occupancy(occupancy(SHAPES[name][0]), resolution, "lossless")
    assert g.values.shape == ref.values.shape
    assert np.array_equal(g.values > 0.5, ref.values > 0.5)
    v0, f0 = marching_cubes(ref)
    v1, f1 = marching_cubes(g)
    assert np.array_equal(f0, f1)
    np.testing.assert_allclose(v1, v0, atol=1e-5)
    assert g.evaluated_count == int(g.evaluated.sum())
    assert ref.evaluated_count / g.evaluated_count > (5 if resolution == 64 else 12)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_fast_mode_iou_and_evaluations(dense_grids, name):
    ref = dense(dense_grids, name, 128)
    g = extract_occupancy(occupancy(SHAPES[name][0]), 128, "fast")
    a, b = g.values > 0.5, ref.values > 0.5
    assert (a & b).sum() / (a | b).sum() >= 0.99
    assert ref.evaluated_count / g.evaluated_count > 8
    # Points never evaluated keep interpolated values, still inside [0,1].
    assert g.values.min() >= 0 and g.values.max() <= 1


def test_lossless_ratio_grows_with_resolution():
    f = occupancy(SHAPES["sphere_small_offcentre"][0])
    counts = [extract_occupancy(f, r, "lossless").evaluated_count for r in (64, 128)]
    # The surface shell grows ~4x per doubling while the dense grid grows ~8x.
    assert counts[1] < 5 * counts[0]


def test_query_batches_are_bounded():
    sizes = []

    def f(p):
        sizes.append(len(p))
        return occupancy(SHAPES["torus"][0])(p)

    for mode in ("dense", "fast", "lossless"):
        sizes.clear()
        g = extract_occupancy(f, 64, mode, batch_points=5000)
        assert max(sizes) <= 5000 and min(sizes) > 0 and sum(sizes) == g.evaluated_count


def test_empty_field_and_bad_arguments():
    g = extract_occupancy(lambda p: torch.zeros(len(p)), 32, "lossless")
    assert g.evaluated_count == 17 ** 3  # the coarsest level shows nothing to refine
    v, f = marching_cubes(g)
    assert v.shape == (0, 3) and f.shape == (0, 3)
    with pytest.raises(BadInputError, match="mode"):
        extract_occupancy(lambda p: p[:, 0], 32, "octree")
