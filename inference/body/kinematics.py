"""Forward kinematics of the SMPL tree, in one place: smplx's `batch_rigid_transform` (joints only, no skin).

The fit's energy, the temporal fit, the video's foot joints and the clothed-mesh binding all pose joints with
`rigid_joints`; `motion_joints` (numpy, a whole motion) and `skinning_transforms` (numpy, one pose) wrap it.
"""

from __future__ import annotations

import numpy as np


def rigid_joints(rot_mats, rest_joints, parents):
    """Pose the rest joints: rot_mats [B,24,3,3], rest_joints [B,24,3], parents [24] (torch) →
    (posed joints [B,24,3], skinning transforms A_j = G_j · T(−J_j) [B,24,4,4]); no translation added."""
    from smplx.lbs import batch_rigid_transform

    return batch_rigid_transform(rot_mats, rest_joints, parents, dtype=rot_mats.dtype)


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
