"""inference.body.kinematics.rigid_joints (one tree depth at a time) against smplx's batch_rigid_transform."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def _inputs(dtype, b=5, seed=0):
    from inference.rotations import axis_angle_to_matrix

    g = torch.Generator().manual_seed(seed)
    rot = axis_angle_to_matrix(torch.randn(b, 24, 3, generator=g, dtype=dtype))
    rest = torch.randn(b, 24, 3, generator=g, dtype=dtype)
    return rot, rest


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_same_joints_transforms_and_gradients_as_smplx(dtype):
    from smplx.lbs import batch_rigid_transform

    from inference.body.kinematics import rigid_joints
    from inference.body.skeleton import SMPL_PARENTS

    parents = torch.tensor(SMPL_PARENTS)
    results = []
    for fn in (lambda r, j: batch_rigid_transform(r, j, parents, dtype=dtype), lambda r, j: rigid_joints(r, j, parents)):
        rot, rest = _inputs(dtype)
        rot.requires_grad_(True), rest.requires_grad_(True)
        posed, rel = fn(rot, rest)
        (posed.square().sum() + rel.sin().sum()).backward()
        results.append((posed.detach(), rel.detach(), rot.grad, rest.grad))
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    for want, got in zip(*results):
        torch.testing.assert_close(got, want, atol=tol, rtol=tol)


def test_a_parent_after_its_child_is_refused():
    from inference.body.kinematics import rigid_joints

    rot, rest = _inputs(torch.float64)
    parents = torch.tensor([-1, 2, 0] + list(range(2, 23)))
    with pytest.raises(ValueError, match="does not come before"):
        rigid_joints(rot, rest, parents)
