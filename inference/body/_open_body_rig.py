"""The open body's rig work on the `anny` package: which Anny bones make which SMPL joint, and the T-pose.

Anny's frame is Blender's (Z up, facing -Y, +X = the body's left); ours is SMPL's (Y up, facing +Z, +X = left):
x_smpl = ANNY_TO_SMPL @ x_anny, a -90 degree turn about X.

Joint mapping (SMPL joint ← the head of the Anny bone(s); several bones: the mean of their heads). `.s` is
`.L` for left_* and `.R` for right_*:

    SMPL joint      Anny bone head(s)                         Anny bones it drives (skinning weights summed)
    pelvis          root                                      root, pelvis.s, spine05, spine04
    left/right_hip  upperleg01.s                              upperleg01.s, upperleg02.s
    spine1          spine03                                   spine03
    left/right_knee lowerleg01.s                              lowerleg01.s, lowerleg02.s
    spine2          spine02                                   spine02
    left/right_ankle foot.s                                   foot.s
    spine3          spine01                                   spine01
    left/right_foot mean of toe1-1.s .. toe5-1.s (the ball)   toe*.s
    neck            neck01                                    neck01, neck02, neck03
    left/right_collar clavicle.s                              clavicle.s, shoulder01.s
    head            head                                      head, eye.L, eye.R
    left/right_shoulder upperarm01.s                          upperarm01.s, upperarm02.s
    left/right_elbow lowerarm01.s                             lowerarm01.s, lowerarm02.s
    left/right_wrist wrist.s                                  wrist.s, metacarpal*.s, finger1-1.s (thumb base)
    left/right_hand mean of finger2-1.s .. finger5-1.s        finger*.s except finger1-1.s
                    (the knuckles)

The spine joints are the Anny heads nearest to SMPL's proportions (spine1 about 0.1 m above the pelvis,
spine2 0.24 m, spine3 0.3 m, neck 0.51 m for a 1.7 m body).

T-pose: Anny's rest is an A-pose (arms 45 degrees down, elbows bent, legs apart). `tpose_deltas` re-poses it
WITH ANNY'S OWN RIG ('world-orient' forward kinematics: each bone is given its world orientation), step by
step from the trunk outwards: thigh and shin straight down, feet kept at their rest orientation (flat),
upper arm, forearm and hand along +-X, the forearm twisted (half on lowerarm01, all on lowerarm02 and below)
so that the palm faces down (index knuckle in front of the little finger's), fingers straightened along the hand. The mesh is then skinned by
Anny itself, so the baked rest is a pose Anny's rig can reach.
"""

from __future__ import annotations

import numpy as np

ANNY_TO_SMPL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

_SIDES = {"left": "L", "right": "R"}

# SMPL joint -> Anny bone labels whose heads are averaged ({s} = L / R).
JOINT_HEADS = {
    "pelvis": ["root"],
    "hip": ["upperleg01.{s}"],
    "spine1": ["spine03"],
    "knee": ["lowerleg01.{s}"],
    "spine2": ["spine02"],
    "ankle": ["foot.{s}"],
    "spine3": ["spine01"],
    "foot": [f"toe{i}-1.{{s}}" for i in range(1, 6)],
    "neck": ["neck01"],
    "collar": ["clavicle.{s}"],
    "head": ["head"],
    "shoulder": ["upperarm01.{s}"],
    "elbow": ["lowerarm01.{s}"],
    "wrist": ["wrist.{s}"],
    "hand": [f"finger{i}-1.{{s}}" for i in range(2, 6)],
}


def joint_head_labels(joint: str) -> list:
    """Anny bone labels whose heads (averaged) place SMPL joint `joint` (e.g. 'left_knee')."""
    side, _, base = joint.partition("_")
    if side in _SIDES:
        return [lab.format(s=_SIDES[side]) for lab in JOINT_HEADS[base]]
    return list(JOINT_HEADS[joint])


def bone_to_joint(label: str) -> str:
    """The SMPL joint that drives Anny bone `label` (see the module table)."""
    name, _, s = label.partition(".")
    side = {"L": "left_", "R": "right_"}.get(s, "")
    if name in ("root", "pelvis", "spine05", "spine04"):
        return "pelvis"
    if name == "eye":
        return "head"
    fixed = {"spine03": "spine1", "spine02": "spine2", "spine01": "spine3", "head": "head"}
    if name in fixed:
        return fixed[name]
    if name.startswith("neck"):
        return "neck"
    prefixes = [("upperleg", "hip"), ("lowerleg", "knee"), ("foot", "ankle"), ("toe", "foot"),
                ("clavicle", "collar"), ("shoulder", "collar"), ("upperarm", "shoulder"),
                ("lowerarm", "elbow"), ("wrist", "wrist"), ("metacarpal", "wrist")]
    if name == "finger1-1":
        return side + "wrist"
    if name.startswith("finger"):
        return side + "hand"
    for prefix, joint in prefixes:
        if name.startswith(prefix):
            return side + joint
    raise KeyError(f"no SMPL joint for Anny bone {label!r}")


def load_anny():
    """Anny's full body (default rig and topology), float64, dense linear blend skinning.

    The first call ever builds Anny's own data cache (~/.cache/anny, about a minute); later calls take ~1 s.
    """
    import torch

    import anny

    return anny.Anny(skinning_method="lbs").to(torch.float64)


def _subtrees(parents) -> list:
    """For each bone, the sorted list of its descendants including itself."""
    n = len(parents)
    subs = [[i] for i in range(n)]
    for i in range(n - 1, 0, -1):  # Anny lists every parent before its children
        subs[parents[i]].extend(subs[i])
    return subs


def _fk_heads(heads, parents, g):
    """Posed heads under world-orient deltas: h'_c = h'_p + G_p (h_c - h_p). heads [B,N,3], g [B,N,3,3]."""
    import torch

    out = [heads[:, 0]]
    for c in range(1, len(parents)):
        p = parents[c]
        out.append(out[p] + torch.einsum("bij,bj->bi", g[:, p], heads[:, c] - heads[:, p]))
    return torch.stack(out, 1)


def tpose_deltas(model, phenotypes):
    """World-orient deltas [B,N,4,4] that put Anny's rest into our T-pose. phenotypes [B,6] (model's labels)."""
    import torch

    from ..rotations import axis_angle_to_matrix, rotation_between

    rest = model(phenotype_kwargs=phenotypes, pose_parameterization="world-orient")
    rest_poses = rest["rest_bone_poses"]
    heads = rest_poses[..., :3, 3]
    labels = list(model.bone_labels)
    parents = [int(p) for p in model.bone_parents]
    subs = _subtrees(parents)
    idx = {lab: i for i, lab in enumerate(labels)}
    b = heads.shape[0]
    g = torch.eye(3, dtype=heads.dtype).expand(b, len(labels), 3, 3).clone()
    to_anny = torch.as_tensor(ANNY_TO_SMPL.T, dtype=heads.dtype)

    def point(posed, names):
        return posed[:, [idx[n] for n in names]].mean(1)

    def turn(bone, rot, whole_subtree=True):
        ids = subs[idx[bone]] if whole_subtree else [idx[bone]]
        g[:, ids] = torch.einsum("bij,bnjk->bnik", rot, g[:, ids])

    def aim(bone, start, end, target_smpl):
        posed = _fk_heads(heads, parents, g)
        d = point(posed, end) - point(posed, start)
        tgt = to_anny @ torch.as_tensor(target_smpl, dtype=heads.dtype)
        turn(bone, axis_angle_to_matrix(rotation_between(d, tgt)))

    down = (0.0, -1.0, 0.0)
    for s, sign in (("L", 1.0), ("R", -1.0)):
        aim(f"upperleg01.{s}", [f"upperleg01.{s}"], [f"lowerleg01.{s}"], down)
        aim(f"lowerleg01.{s}", [f"lowerleg01.{s}"], [f"foot.{s}"], down)
        g[:, subs[idx[f"foot.{s}"]]] = torch.eye(3, dtype=heads.dtype)  # feet keep their flat rest orientation
        side = (sign, 0.0, 0.0)
        aim(f"upperarm01.{s}", [f"upperarm01.{s}"], [f"lowerarm01.{s}"], side)
        aim(f"lowerarm01.{s}", [f"lowerarm01.{s}"], [f"wrist.{s}"], side)
        # Palm down: twist about the forearm so that index knuckle - little knuckle points forward (+Z).
        posed = _fk_heads(heads, parents, g)
        axis = torch.nn.functional.normalize(point(posed, [f"wrist.{s}"]) - point(posed, [f"lowerarm01.{s}"]), dim=-1)
        across = point(posed, [f"finger2-1.{s}"]) - point(posed, [f"finger5-1.{s}"])
        across = across - (across * axis).sum(-1, keepdim=True) * axis
        fwd = to_anny @ torch.as_tensor((0.0, 0.0, 1.0), dtype=heads.dtype)
        twist = rotation_between(across, fwd.expand_as(across))
        twist = axis * (twist * axis).sum(-1, keepdim=True)  # the part about the forearm axis
        turn(f"lowerarm01.{s}", axis_angle_to_matrix(0.5 * twist), whole_subtree=False)
        turn(f"lowerarm02.{s}", axis_angle_to_matrix(twist))
        hand = [f"finger{i}-1.{s}" for i in range(2, 6)]
        aim(f"wrist.{s}", [f"wrist.{s}"], hand, side)
        # Flat fingers (SMPL's rest hand): the first two phalanges of each finger along the hand, the last one
        # keeping its small rest bend relative to the second; the thumb stays as Anny rests it.
        for n in range(2, 6):
            aim(f"finger{n}-1.{s}", [f"finger{n}-1.{s}"], [f"finger{n}-2.{s}"], side)
            aim(f"finger{n}-2.{s}", [f"finger{n}-2.{s}"], [f"finger{n}-3.{s}"], side)

    deltas = torch.eye(4, dtype=heads.dtype).expand(b, len(labels), 4, 4).clone()
    deltas[..., :3, :3] = g @ rest_poses[..., :3, :3]
    deltas[:, 0, :3, 3] = heads[:, 0]
    return deltas


def tposed_bodies(model, phenotypes):
    """Anny re-posed to our T-pose, in SMPL's frame. phenotypes [B,6] → (vertices [B,V,3], heads [B,N,3])."""
    import torch

    with torch.no_grad():
        deltas = tpose_deltas(model, phenotypes)
        out = model(pose_parameters=deltas, phenotype_kwargs=phenotypes, pose_parameterization="world-orient")
    a = torch.as_tensor(ANNY_TO_SMPL, dtype=deltas.dtype)
    verts = out["vertices"] @ a.T
    heads = out["bone_poses"][..., :3, 3] @ a.T
    return verts.numpy(), heads.numpy()


def smpl_joints_from_heads(heads, labels, joint_names) -> np.ndarray:
    """SMPL joints [B,24,3] from posed Anny bone heads [B,N,3] (the module table)."""
    idx = {lab: i for i, lab in enumerate(labels)}
    return np.stack([heads[:, [idx[n] for n in joint_head_labels(j)]].mean(1) for j in joint_names], 1)


def smpl_weights(model, joint_names) -> np.ndarray:
    """Anny's skinning weights summed onto the SMPL joints: [V,24], rows summing to 1."""
    from anny.skinning.skinning import dense_bone_weights

    dense = dense_bone_weights(model.vertex_bone_weights, model.vertex_bone_indices, model.bone_count)
    dense = dense.detach().cpu().numpy()
    jidx = {j: i for i, j in enumerate(joint_names)}
    table = np.zeros((model.bone_count, len(joint_names)))
    for i, lab in enumerate(model.bone_labels):
        table[i, jidx[bone_to_joint(lab)]] = 1.0
    w = dense @ table
    return w / w.sum(1, keepdims=True)


def dominant_bones(model) -> np.ndarray:
    """For each vertex, the index of the Anny bone with the largest skinning weight: [V]."""
    w, i = model.vertex_bone_weights, model.vertex_bone_indices
    return i.gather(1, w.argmax(1, keepdim=True))[:, 0].long().cpu().numpy()


def coco_keypoint_weights(model) -> tuple:
    """Anny's own COCO keypoint regressor: (weights [K,V] numpy, labels)."""
    from anny.keypoints import KeypointsRegressor

    reg = KeypointsRegressor.coco(model)
    return reg.regression_weights.detach().cpu().numpy(), list(reg.labels)
