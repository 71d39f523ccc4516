"""Forward kinematics of the SMPL tree, in one place: smplx's `batch_rigid_transform` (joints only, no skin),
evaluated one tree depth at a time.

The fit's energy, the temporal fit, the video's foot joints and the clothed-mesh binding all pose joints with
`rigid_joints`; `motion_joints` (numpy, a whole motion) and `skinning_transforms` (numpy, one pose) wrap it.
"""

from __future__ import annotations

import numpy as np


def rigid_joints(rot_mats, rest_joints, parents):
    """Pose the rest joints: rot_mats [B,J,3,3], rest_joints [B,J,3], parents [J] (torch; -1 at the root,
    each parent before its children) → (posed joints [B,J,3], skinning transforms A_j = G_j · T(−J_j)
    [B,J,4,4]); no translation added. smplx's batch_rigid_transform, evaluated one tree depth at a time: 9
    batched steps for SMPL instead of 23 joint by joint, which is most of a small fit step's time on a CPU."""
    import torch

    levels = _levels(tuple(int(p) for p in parents.tolist()))
    dev = rot_mats.device
    rest = rest_joints
    rel = rest.clone()
    rel[:, 1:] = rest[:, 1:] - rest[:, levels.parent_of[1:]]
    g_rot, g_pos = [rot_mats[:, levels.order[0]]], [rel[:, levels.order[0]]]
    for members, parent_pos in zip(levels.order[1:], levels.parent_pos):
        parent_rot = g_rot[-1][:, parent_pos.to(dev)]
        g_rot.append(parent_rot @ rot_mats[:, members.to(dev)])
        g_pos.append((parent_rot @ rel[:, members.to(dev), :, None])[..., 0] + g_pos[-1][:, parent_pos.to(dev)])
    inverse = levels.inverse.to(dev)
    rot = torch.cat(g_rot, 1)[:, inverse]
    posed = torch.cat(g_pos, 1)[:, inverse]
    shift = posed - (rot @ rest[..., None])[..., 0]  # A_j's translation: G_j's minus G_j's rotation of J_j
    top = torch.cat([rot, shift[..., None]], -1)  # [B,J,3,4]
    bottom = top.new_zeros(top.shape[:2] + (1, 4))
    bottom[..., 3] = 1.0
    return posed, torch.cat([top, bottom], -2)


class _Levels:
    """A tree's joints grouped by depth: order[d] (joint ids at depth d), parent_pos[d-1] (each one's parent's
    position within depth d-1), inverse (depth-major position → joint id order), parent_of [J]."""

    def __init__(self, parents: tuple):
        import torch

        depth = [0] * len(parents)
        for j in range(1, len(parents)):
            if not 0 <= parents[j] < j:
                raise ValueError(f"joint {j}'s parent {parents[j]} does not come before it")
            depth[j] = depth[parents[j]] + 1
        groups = [[j for j in range(len(parents)) if depth[j] == d] for d in range(max(depth) + 1)]
        self.order = [torch.as_tensor(g) for g in groups]
        self.parent_pos = [torch.as_tensor([groups[d - 1].index(parents[j]) for j in groups[d]])
                           for d in range(1, len(groups))]
        self.inverse = torch.as_tensor(np.argsort([j for g in groups for j in g]))
        self.parent_of = torch.as_tensor([max(p, 0) for p in parents])


_LEVELS: dict = {}


def _levels(parents: tuple) -> _Levels:
    if parents not in _LEVELS:
        _LEVELS[parents] = _Levels(parents)
    return _LEVELS[parents]


def motion_joints(model, pose, betas, transl, batch: int = 256) -> np.ndarray:
    """SMPL joints [T,24,3] (float64) of a motion: pose [T,24,3] axis-angle, betas [K], transl [T,3], with
    `model` an inference.body.BodyModel (its dtype and device)."""
    import torch

    from ..rotations import axis_angle_to_matrix

    dt = model.dtype
    rest = torch.as_tensor(model.data.shaped(betas)[1], dtype=dt, device=model.device)
    with torch.no_grad():
        out = []
        for s in range(0, len(pose), batch):
            rots = axis_angle_to_matrix(torch.as_tensor(pose[s:s + batch], dtype=dt, device=model.device))
            posed, _ = rigid_joints(rots, rest.expand(len(rots), -1, -1), model.parents)
            out.append(posed.double().cpu().numpy() + np.asarray(transl[s:s + batch])[:, None])
    return np.concatenate(out)


def skinning_transforms(pose, rest_joints, transl=None) -> np.ndarray:
    """SMPL's skinning transforms A_j = G_j · T(−J_j), then + transl: pose [24,3] axis-angle, rest_joints
    [24,3], transl [3] → [24,4,4] float64. LBS: v' = Σ_j w_j A_j v (weights summing to 1)."""
    import torch

    from ..rotations import axis_angle_to_matrix
    from .skeleton import SMPL_PARENTS

    rots = axis_angle_to_matrix(torch.as_tensor(np.reshape(pose, (1, 24, 3)), dtype=torch.float64))
    joints = torch.as_tensor(np.reshape(rest_joints, (1, 24, 3)), dtype=torch.float64)
    _, rel = rigid_joints(rots, joints, torch.tensor(SMPL_PARENTS))
    a = rel[0].numpy()
    if transl is not None:
        a[:, :3, 3] += np.asarray(transl, dtype=np.float64).reshape(3)
    return a
