"""Rotation conversions against scipy's Rotation, at random rotations and at the edge cases."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from inference import rotations as rot

RNG = np.random.default_rng(0)


def _edge_axis_angles():
    cases = [np.zeros(3), np.array([1e-8, 0, 0]), np.array([0, -1e-8, 1e-8])]
    for axis in np.eye(3):
        cases += [np.pi * axis, (np.pi - 1e-6) * axis, -np.pi * axis, 1e-8 * axis]
    diag = np.ones(3) / np.sqrt(3)
    cases += [np.pi * diag, (np.pi - 1e-6) * diag, 0.5 * diag]
    return np.stack(cases)


def _random_axis_angles(n=500):
    axes = RNG.standard_normal((n, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    return axes * RNG.uniform(0, np.pi, (n, 1))


ALL = np.concatenate([_edge_axis_angles(), _random_axis_angles()])


def _same_rotation_aa(a, b):
    """Axis-angles a and b are the same rotation (at π, aa and -aa are the same)."""
    return np.abs(Rotation.from_rotvec(a).as_matrix() - Rotation.from_rotvec(b).as_matrix()).max()


def test_axis_angle_to_matrix_matches_scipy():
    got = rot.axis_angle_to_matrix(ALL)
    want = Rotation.from_rotvec(ALL).as_matrix()
    assert np.abs(got - want).max() < 1e-12


def test_matrix_to_axis_angle_matches_scipy_and_round_trips():
    mats = Rotation.from_rotvec(ALL).as_matrix()
    got = rot.matrix_to_axis_angle(mats)
    want = Rotation.from_matrix(mats).as_rotvec()
    # Same vector away from π; at exactly π the sign of the axis is a free choice.
    away = np.linalg.norm(want, axis=1) < np.pi - 1e-3
    assert np.abs(got[away] - want[away]).max() < 1e-9
    assert _same_rotation_aa(got, want) < 1e-9
    assert np.all(np.linalg.norm(got, axis=1) <= np.pi + 1e-12)


def test_quaternions_match_scipy_scalar_first():
    mats = Rotation.from_rotvec(ALL).as_matrix()
    q = rot.matrix_to_quaternion(mats)
    want = Rotation.from_matrix(mats).as_quat()[:, [3, 0, 1, 2]]  # scipy is (x, y, z, w)
    want *= np.sign(want[:, :1] + 1e-300)
    # sign is fixed by w >= 0; at w == 0 both signs are valid, so compare rotations there
    assert np.abs(np.abs((q * want).sum(1)) - 1).max() < 1e-12
    assert np.abs(rot.quaternion_to_matrix(q) - mats).max() < 1e-12
    qa = rot.axis_angle_to_quaternion(ALL)
    assert np.abs(rot.quaternion_to_matrix(qa) - mats).max() < 1e-12
    assert _same_rotation_aa(rot.quaternion_to_axis_angle(qa), ALL) < 1e-9


def test_180_degree_turns_about_each_axis():
    for axis in np.eye(3):
        m = Rotation.from_rotvec(np.pi * axis).as_matrix()
        aa = rot.matrix_to_axis_angle(m)
        assert abs(np.linalg.norm(aa) - np.pi) < 1e-12
        assert abs(abs(aa @ axis) - np.pi) < 1e-12


def test_small_angles_are_accurate():
    aa = np.array([[1e-8, 2e-8, -3e-8], [1e-5, 0, 0]])
    m = rot.axis_angle_to_matrix(aa)
    assert np.abs(m - Rotation.from_rotvec(aa).as_matrix()).max() < 1e-15
    assert np.abs(rot.matrix_to_axis_angle(m) - aa).max() < 1e-14


def test_rot6d_spin_layout():
    mats = Rotation.from_rotvec(_random_axis_angles(50)).as_matrix()
    six = rot.matrix_to_rot6d(mats)
    # SPIN's layout: elements [0,2,4] are the first column, [1,3,5] the second.
    assert np.allclose(six[:, [0, 2, 4]], mats[:, :, 0]) and np.allclose(six[:, [1, 3, 5]], mats[:, :, 1])
    assert np.abs(rot.rot6d_to_matrix(six) - mats).max() < 1e-12
    # A non-orthonormal input is Gram-Schmidt-orthonormalised into a proper rotation.
    noisy = rot.rot6d_to_matrix(six + 0.1 * RNG.standard_normal(six.shape))
    assert np.allclose(noisy @ noisy.transpose(0, 2, 1), np.eye(3), atol=1e-12)
    assert np.allclose(np.linalg.det(noisy), 1)


def test_numpy_float32_and_batch_shapes_kept():
    aa = _random_axis_angles(12).reshape(3, 4, 3).astype(np.float32)
    m = rot.axis_angle_to_matrix(aa)
    assert m.shape == (3, 4, 3, 3) and m.dtype == np.float32


def test_batch_consistency_torch():
    aa = torch.as_tensor(_random_axis_angles(16))
    whole = rot.axis_angle_to_matrix(aa)
    one_by_one = torch.stack([rot.axis_angle_to_matrix(a[None])[0] for a in aa])
    assert torch.equal(whole, one_by_one)


@pytest.mark.parametrize("fn", [rot.axis_angle_to_matrix, rot.axis_angle_to_quaternion])
def test_gradients_finite_at_zero(fn):
    x = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fn, (x,))
    fn(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_gradcheck_at_random_rotations():
    x = torch.as_tensor(_random_axis_angles(4) * 0.9, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(rot.axis_angle_to_matrix, (x,))
    assert torch.autograd.gradcheck(lambda a: rot.matrix_to_axis_angle(rot.axis_angle_to_matrix(a)), (x,))
    six = torch.tensor(RNG.standard_normal((3, 6)), requires_grad=True)
    assert torch.autograd.gradcheck(rot.rot6d_to_matrix, (six,))


def test_quaternions_made_continuous():
    aa = np.linspace(0, 1, 20)[:, None] * np.array([0.0, 3.0, 0.0])
    q = rot.axis_angle_to_quaternion(aa)
    flipped = q * np.where(np.arange(20) % 3 == 0, -1, 1)[:, None]
    fixed = rot.make_quaternions_continuous(flipped)
    assert np.all((fixed[1:] * fixed[:-1]).sum(1) > 0)
    assert np.allclose(np.abs((fixed * q).sum(1)), 1)


def test_rotation_between_turns_a_into_b_minimally():
    a = RNG.standard_normal((200, 3))
    b = RNG.standard_normal((200, 3))
    b[:3] = -a[:3] * 2.0  # opposite directions
    b[3:6] = a[3:6] * 0.5  # same direction
    aa = rot.rotation_between(a, b)
    rotated = Rotation.from_rotvec(aa).apply(a / np.linalg.norm(a, axis=1, keepdims=True))
    assert np.abs(rotated - b / np.linalg.norm(b, axis=1, keepdims=True)).max() < 1e-9
    # minimal: the angle equals the angle between the directions (scipy-independent arccos)
    cos = np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert np.allclose(np.linalg.norm(aa, axis=1), np.arccos(np.clip(cos, -1, 1)), atol=1e-6)
